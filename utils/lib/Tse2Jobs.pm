package Tse2Jobs;
# Shared code of tse2's job runners (run.pl, queue.pl, slurm.pl), written for tse2.
#
# Common interface:
#   <runner> [--mem M] [--gpu N] [--num-threads N] [--max-jobs-run N] [--time T]
#            [--num-nodes N] [--config conf/x.conf] [JOB=1:N] log/x.JOB.log command ...
# (--num-nodes: one job over N nodes, for ESPnet's multi-node launcher, which runs `srun` inside
# it; slurm.pl only.)
# Every occurrence of the array variable (JOB) in the log path and the command is replaced by
# the job index.  Each log starts with the command and ends with "# Ended (code C) at ...".
# The runner exits 1 when any job failed, naming how many and where their logs are.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use POSIX qw(strftime);

our @KNOWN = qw(mem gpu num_threads max_jobs_run time num_nodes config);

sub die_usage {
    my ($prog, $msg) = @_;
    print STDERR "$prog: $msg\n" if $msg;
    print STDERR "usage: $prog [--mem M --gpu N --num-threads N --max-jobs-run N --time T --num-nodes N --config F] "
               . "[JOB=1:N] <log-file> <command> ...\n";
    exit 1;
}

# Parses options and the JOB range.  Returns a hash with opts, jobvar, start, end, logfile, cmd.
sub parse_args {
    my ($prog, @args) = @_;
    my %opt;
    while (@args && $args[0] =~ /^--/) {
        my $name = shift @args;
        $name =~ s/^--//;
        $name =~ s/-/_/g;
        die_usage($prog, "option --$name needs a value") unless @args;
        my $val = shift @args;
        die_usage($prog, "unknown option --$name (known: @KNOWN)") unless grep { $_ eq $name } @KNOWN;
        $opt{$name} = $val;
    }
    my ($jobvar, $start, $end) = (undef, 1, 1);
    if (@args && $args[0] =~ /^([A-Za-z_][A-Za-z0-9_]*)=(\d+):(\d+)$/) {
        ($jobvar, $start, $end) = ($1, $2, $3);
        shift @args;
        die_usage($prog, "empty job range $jobvar=$start:$end") if $end < $start;
    } elsif (@args && $args[0] =~ /=/ && $args[0] !~ /\s/ && $args[0] =~ /^[A-Za-z_]+=/) {
        die_usage($prog, "malformed job range '$args[0]' (expected e.g. JOB=1:4)");
    }
    die_usage($prog, "missing log file and command") if @args < 2;
    my $logfile = shift @args;
    if (defined $jobvar && $end > $start && $logfile !~ /\Q$jobvar\E/) {
        die_usage($prog, "log file '$logfile' must contain $jobvar so that each job has its own log");
    }
    for my $k (qw(gpu num_threads max_jobs_run num_nodes)) {
        die_usage($prog, "--" . ($k =~ s/_/-/gr) . " needs a whole number, got '$opt{$k}'")
            if defined $opt{$k} && $opt{$k} !~ /^\d+$/;
    }
    if (($opt{num_nodes} // 1) > 1 && $prog ne "slurm.pl") {
        die_usage($prog, "--num-nodes $opt{num_nodes}: $prog runs a job on one "
                  . ($prog eq "run.pl" ? "machine (this one)" : "host") . "; multi-node training needs slurm.pl (cmd_backend=slurm)");
    }
    return { opt => \%opt, jobvar => $jobvar, start => $start, end => $end,
             logfile => $logfile,
             # One argument is a whole shell command line ("a | b"); several are quoted words.
             cmd => @args == 1 ? $args[0] : join(" ", map { quote_arg($_) } @args) };
}

# Quotes an argument for bash unless it is plainly safe (as Kaldi does, so pipes written as
# separate words still work and quoted strings survive).
sub quote_arg {
    my ($a) = @_;
    return "''" if $a eq "";
    return $a if $a =~ /^[A-Za-z0-9_\/\.\-=:,+%@\|<>;&\$\*\?\[\]\(\)~!#{}]+$/ && $a !~ /[\s'"]/;
    $a =~ s/'/'\\''/g;
    return "'$a'";
}

sub subst_job {
    my ($text, $jobvar, $id) = @_;
    return $text unless defined $jobvar;
    $text =~ s/\b\Q$jobvar\E\b/$id/g;
    return $text;
}

sub timestamp { return strftime("%a %b %e %H:%M:%S %Z %Y", localtime); }

# Reads a Kaldi-style scheduler config:
#   command <submit command with fixed flags>
#   option <name>=* <flags with $0>     (any value)
#   option <name>=<value> <flags>       (exact value; empty flags = add nothing)
#   default <name>=<value>
sub read_config {
    my ($file, $default_text) = @_;
    my @lines;
    if (defined $file && -f $file) {
        open(my $fh, "<", $file) or die "cannot read $file: $!";
        @lines = <$fh>;
        close $fh;
    } else {
        @lines = split /\n/, $default_text;
    }
    my %cfg = (command => undef, exact => {}, any => {}, default => {});
    for my $line (@lines) {
        $line =~ s/#.*$//;
        $line =~ s/^\s+|\s+$//g;
        next if $line eq "";
        if ($line =~ /^command\s+(.+)$/) { $cfg{command} = $1; }
        elsif ($line =~ /^option\s+(\w+)=\*\s*(.*)$/) { $cfg{any}{$1} = $2; }
        elsif ($line =~ /^option\s+(\w+)=(\S+)\s*(.*)$/) { $cfg{exact}{"$1=$2"} = $3; }
        elsif ($line =~ /^default\s+(\w+)=(\S+)$/) { $cfg{default}{$1} = $2; }
        else { die "config " . ($file // "(built-in)") . ": cannot parse line '$line'\n"; }
    }
    die "config " . ($file // "(built-in)") . " has no 'command' line\n" unless defined $cfg{command};
    return \%cfg;
}

# Maps options to scheduler flags through the config.  Returns the flag string.
sub config_flags {
    my ($cfg, $opt, $skip) = @_;
    my %o = (%{ $cfg->{default} }, %$opt);
    my @flags;
    for my $name (sort keys %o) {
        next if $name eq "config" || ($skip && $skip->{$name});
        my $val = $o{$name};
        if (exists $cfg->{exact}{"$name=$val"}) {
            push @flags, $cfg->{exact}{"$name=$val"} if $cfg->{exact}{"$name=$val"} ne "";
        } elsif (exists $cfg->{any}{$name}) {
            (my $f = $cfg->{any}{$name}) =~ s/\$0/$val/g;
            push @flags, $f;
        } else {
            die "the scheduler config has no rule for option --" . ($name =~ s/_/-/gr) . "=$val\n";
        }
    }
    return join(" ", @flags);
}

# Writes the per-array job script that runs one task: it reads the task id from the variable
# the scheduler sets, runs the command with JOB substituted, logs it, and records the exit
# status in a marker file the submitting runner waits for.
sub write_job_script {
    my ($p, $qdir, $base, $taskvar) = @_;
    make_path($qdir);
    my $script = "$qdir/$base.sh";
    my $cwd = getcwd();
    my $jobvar = $p->{jobvar} // "JOB";
    (my $qcmd = $p->{cmd}) =~ s/'/'\\''/g;
    (my $qlog = $p->{logfile}) =~ s/'/'\\''/g;
    # path.sh pins one thread per job; a job that asked for --num-threads N gets N
    my $threads = $p->{opt}{num_threads} // 1;
    open(my $fh, ">", "$script.tmp") or die "cannot write $script: $!";
    print $fh <<"EOS";
#!/usr/bin/env bash
cd '$cwd' || exit 1
[ -f ./path.sh ] && . ./path.sh
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
$jobvar=\${$taskvar:-1}
subst() { printf '%s\\n' "\$1" | sed "s/\\b$jobvar\\b/\${$jobvar}/g"; }
log=\$(subst '$qlog')
cmd=\$(subst '$qcmd')
mkdir -p "\$(dirname "\$log")"
{ printf '# %s\\n' "\$cmd"; echo "# Started at \$(date) on \$(hostname)"; } > "\$log"
time1=\$(date +%s)
( eval "\$cmd" ) >> "\$log" 2>&1
ret=\$?
time2=\$(date +%s)
echo "# Accounting: time=\$((time2-time1)) threads=$threads" >> "\$log"
echo "# Ended (code \$ret) at \$(date)" >> "\$log"
echo \$ret > '$qdir/$base.done.'\${$jobvar}.tmp && mv '$qdir/$base.done.'\${$jobvar}.tmp '$qdir/$base.done.'\${$jobvar}
exit \$ret
EOS
    close $fh;
    rename("$script.tmp", $script) or die "cannot rename $script.tmp: $!";
    chmod 0755, $script;
    return $script;
}

# Waits until every task's done-marker exists, then returns the number of failed tasks.
# $sched (optional) = {id => job id, alive => sub($id)} asks the scheduler what it still holds
# of the job: undef (cannot tell), or a hash ref, {tasks => {task id => 1, ...}} for an array
# job's queued and running tasks, or {any => 1} when it only tells of the whole job ({} when
# gone).  A task the scheduler no longer holds whose marker has not appeared within
# TSE2_LOST_GRACE_SECONDS (default 60, for network file systems that show files late) was lost:
# cancelled, killed for its time or memory limit, or on a node that failed.  It counts as
# failed, and its log says so.
sub wait_for_tasks {
    my ($p, $qdir, $base, $prog, $sched) = @_;
    my $poll = $ENV{TSE2_POLL_SECONDS} // 5;
    my $grace = $ENV{TSE2_LOST_GRACE_SECONDS} // 60;
    my @pending = ($p->{start} .. $p->{end});
    my (%gone_since, %lost);
    while (@pending) {
        @pending = grep { !-f "$qdir/$base.done.$_" } @pending;
        last unless @pending;
        my $held = $sched && defined $sched->{id} ? $sched->{alive}->($sched->{id}) : undef;
        for my $t (@pending) {
            # (a single job is array task 1 of 1 to the runners, so the task test covers it too)
            my $alive = !defined $held || $held->{any} || ($held->{tasks} && $held->{tasks}{$t});
            if ($alive) { delete $gone_since{$t}; next; }
            $gone_since{$t} //= time;
            $lost{$t} = 1 if time - $gone_since{$t} >= $grace;
        }
        @pending = grep { !$lost{$_} } @pending;
        sleep($poll) if @pending;
    }
    my $failed = 0;
    for my $id ($p->{start} .. $p->{end}) {
        if ($lost{$id}) {
            $failed++;
            my $log = defined $p->{jobvar} ? subst_job($p->{logfile}, $p->{jobvar}, $id) : $p->{logfile};
            my $msg = "task $id of job $sched->{id} never finished: the scheduler no longer holds it "
                    . "(cancelled, killed for its time or memory limit, or its node failed); "
                    . "the scheduler's own output is in $qdir/$base.$id.out";
            if (open(my $fh, ">>", $log)) { print $fh "# $prog: $msg\n# Ended (code lost) at " . timestamp() . "\n"; close $fh; }
            print STDERR "$prog: $msg\n";
            next;
        }
        open(my $fh, "<", "$qdir/$base.done.$id") or die "$prog: cannot read $qdir/$base.done.$id\n";
        my $ret = <$fh>;
        close $fh;
        chomp $ret;
        $failed++ if $ret ne "0";
        unlink "$qdir/$base.done.$id";
    }
    return $failed;
}

sub report {
    my ($prog, $p, $failed) = @_;
    my $n = $p->{end} - $p->{start} + 1;
    return 0 unless $failed;
    my $logs = defined $p->{jobvar} ? subst_job($p->{logfile}, $p->{jobvar}, "*") : $p->{logfile};
    if ($n == 1) {
        print STDERR "$prog: job failed, log is in $logs\n";
    } else {
        print STDERR "$prog: $failed / $n failed, log is in $logs\n";
    }
    return 1;
}

# Submits one scheduler array job and waits for it.  $build->($qdir, $base, $script) returns the
# submission command line.  $probe (optional) = {id_re => regex whose $1 is the job id in the
# submission's output, alive => sub($id)} lets the wait notice a job the scheduler dropped.
# Returns the runner's exit status.
sub submit_and_wait {
    my ($prog, $p, $taskvar, $build, $probe) = @_;
    my $qdir = dirname($p->{logfile}) . "/q";
    (my $base = basename($p->{logfile})) =~ s/\.log$//;
    $base = subst_job($base, $p->{jobvar}, "JOB") if defined $p->{jobvar};
    $base =~ s/[^A-Za-z0-9_.\-]/_/g;
    my $script = write_job_script($p, $qdir, $base, $taskvar);
    unlink glob("$qdir/$base.done.*");
    my $qcmd = $build->($qdir, $base, $script);
    $qcmd =~ s/\s+/ /g;
    if (open(my $fh, ">", "$qdir/$base.submit")) { print $fh "$qcmd\n"; close $fh; }
    my $out = `$qcmd 2>&1`;
    if ($? != 0) {
        print STDERR "$prog: submission failed: $qcmd\n$out";
        return 1;
    }
    my $sched;
    if ($probe && $out =~ $probe->{id_re}) {
        $sched = { id => $1, alive => $probe->{alive} };
        if (open(my $fh, ">>", "$qdir/$base.submit")) { print $fh "# job id $1\n"; close $fh; }
    }
    return report($prog, $p, wait_for_tasks($p, $qdir, $base, $prog, $sched));
}

# Runs a scheduler query; returns (exit status, output).
sub query {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out // "");
}

1;
