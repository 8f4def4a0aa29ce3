#!/usr/bin/env perl
# queue.pl: runs a command or a JOB=1:N array on Sun/Son of Grid Engine (written for tse2).
#   queue.pl [--config conf/queue.conf] [--mem 4G] [--gpu 1] [--num-threads 4] [--max-jobs-run 10]
#            [--time T] JOB=1:N log/x.JOB.log command ...
# Submits one array job (qsub -t start:end) whose tasks log to log/x.<task>.log, waits for every
# task to finish, and exits 1 when any failed.  Options become qsub flags through the config
# (default conf/queue.conf, else the built-in one below).  Set TSE2_QSUB to use another qsub.
# While it waits it asks qstat (TSE2_QSTAT, default qstat) whether the job is still there: a task
# Grid Engine dropped without finishing (qdel, a limit, a host failure) fails the run instead of
# hanging it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use Tse2Jobs;

my $prog = "queue.pl";
my $default_config = <<'CFG';
command qsub -v PATH -cwd -S /bin/bash -j y -l arch=*64*
option mem=* -l mem_free=$0
option mem=0
option num_threads=* -pe smp $0
option num_threads=1
option max_jobs_run=* -tc $0
option time=* -l h_rt=$0
default gpu=0
option gpu=0
option gpu=* -l gpu=$0 -q g.q
CFG

my $p = Tse2Jobs::parse_args($prog, @ARGV);
my $config = $p->{opt}{config} // "conf/queue.conf";
my $cfg = Tse2Jobs::read_config($config, $default_config);
my $flags = Tse2Jobs::config_flags($cfg, $p->{opt}, { num_nodes => 1 });  # one host per job
my $submit = $cfg->{command};
$submit = $ENV{TSE2_QSUB} . substr($submit, length("qsub")) if $ENV{TSE2_QSUB} && $submit =~ /^qsub\b/;
my $range = defined $p->{jobvar} ? "-t $p->{start}:$p->{end}" : "";
exit Tse2Jobs::submit_and_wait($prog, $p, "SGE_TASK_ID", sub {
    my ($qdir, $base, $script) = @_;
    return "$submit $flags -o $qdir/$base.\\\$TASK_ID.out $range $script";
}, {
    id_re => qr/Your job(?:-array)? (\d+)/,
    alive => sub {
        my ($id) = @_;
        my ($rc, $out) = Tse2Jobs::query(($ENV{TSE2_QSTAT} // "qstat") . " -j $id");
        return { any => 1 } if $rc == 0;
        return {} if $out =~ /do not exist/i;
        return undef;
    },
});
