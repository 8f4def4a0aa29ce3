#!/usr/bin/env perl
# run.pl: runs a command, or an array of JOB=1:N commands, on this machine (written for tse2).
#   run.pl [--max-jobs-run N] [--num-threads N (OMP/MKL threads of each job, default 1)]
#          [--mem M --gpu N --time T (accepted, unused)]
#          [JOB=1:N] log/x.JOB.log command ...
# Jobs run in parallel, at most --max-jobs-run at a time (default: the number of CPUs).  Each job
# writes its own log; the exit status is 1 when any job failed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(:sys_wait_h);
use Tse2Jobs;

my $prog = "run.pl";
my $p = Tse2Jobs::parse_args($prog, @ARGV);
# nproc honours OMP_NUM_THREADS, which path.sh sets to 1 for every job: ask without it
my $ncpu = `env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null` || 1;
chomp $ncpu;
my $max = $p->{opt}{max_jobs_run} || $ncpu;
my $threads = $p->{opt}{num_threads} // 1;

sub run_one {
    my ($id) = @_;
    my $log = Tse2Jobs::subst_job($p->{logfile}, $p->{jobvar}, $id);
    my $cmd = Tse2Jobs::subst_job($p->{cmd}, $p->{jobvar}, $id);
    make_path(dirname($log));
    open(my $fh, ">", $log) or do { print STDERR "$prog: cannot write log file $log: $!\n"; exit 1 };
    print $fh "# $cmd\n# Started at " . Tse2Jobs::timestamp() . "\n";
    close $fh;
    my $t0 = time;
    # the job's thread count: --num-threads N, else one (as path.sh pins it for every job)
    $ENV{$_} = $threads for qw(OMP_NUM_THREADS MKL_NUM_THREADS OPENBLAS_NUM_THREADS);
    my $ret = system("bash", "-c", "( $cmd ) >> '$log' 2>&1");
    my $code = $ret == -1 ? 127 : ($ret & 127 ? 128 + ($ret & 127) : $ret >> 8);
    open($fh, ">>", $log) or exit 1;
    print $fh "# Accounting: time=" . (time - $t0) . " threads=$threads\n";
    print $fh "# Ended (code $code) at " . Tse2Jobs::timestamp() . "\n";
    close $fh;
    exit($code ? 1 : 0);
}

my (%running, $failed);
$failed = 0;
for my $id ($p->{start} .. $p->{end}) {
    while (scalar(keys %running) >= $max) {
        my $pid = waitpid(-1, 0);
        next unless exists $running{$pid};
        $failed++ if $?;
        delete $running{$pid};
    }
    my $pid = fork();
    die "$prog: fork failed: $!\n" unless defined $pid;
    if ($pid == 0) { run_one($id); }
    $running{$pid} = $id;
}
while (keys %running) {
    my $pid = waitpid(-1, 0);
    last if $pid < 0;
    next unless exists $running{$pid};
    $failed++ if $?;
    delete $running{$pid};
}
exit Tse2Jobs::report($prog, $p, $failed);
