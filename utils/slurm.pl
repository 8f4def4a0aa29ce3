#!/usr/bin/env perl
# slurm.pl: runs a command or a JOB=1:N array on Slurm (written for tse2).
#   slurm.pl [--config conf/slurm.conf] [--mem 4G] [--gpu 1] [--num-threads 4] [--max-jobs-run 10]
#            [--time 4:00:00] [--num-nodes 2] JOB=1:N log/x.JOB.log command ...
# Submits one array job (sbatch --array=start-end[%max]) whose tasks log to log/x.<task>.log, waits
# for every task, and exits 1 when any failed.  Options become sbatch flags through the config
# (default conf/slurm.conf, else the built-in one below).  Set TSE2_SBATCH to use another sbatch.
# While it waits it asks squeue (TSE2_SQUEUE, default squeue) whether the job is still there: a
# task Slurm dropped without finishing (scancel, time or memory limit, node failure) fails the
# run instead of hanging it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use Tse2Jobs;

my $prog = "slurm.pl";
my $default_config = <<'CFG';
command sbatch --export=PATH --ntasks-per-node=1
option time=* --time $0
option mem=* --mem-per-cpu $0
option mem=0
option num_threads=* --cpus-per-task $0
option num_threads=1 --cpus-per-task 1
default gpu=0
option gpu=0 -p cpu
option gpu=* -p gpu --gres=gpu:$0
option num_nodes=* --nodes $0
CFG

my $p = Tse2Jobs::parse_args($prog, @ARGV);
my $config = $p->{opt}{config} // "conf/slurm.conf";
my $cfg = Tse2Jobs::read_config($config, $default_config);
# Slurm limits concurrent array tasks with the %N suffix of --array, not with a flag.
my $flags = Tse2Jobs::config_flags($cfg, $p->{opt}, { max_jobs_run => 1 });
my $submit = $cfg->{command};
$submit = $ENV{TSE2_SBATCH} . substr($submit, length("sbatch")) if $ENV{TSE2_SBATCH} && $submit =~ /^sbatch\b/;
my $array = "--array=$p->{start}-$p->{end}";
$array .= "%$p->{opt}{max_jobs_run}" if $p->{opt}{max_jobs_run};
exit Tse2Jobs::submit_and_wait($prog, $p, "SLURM_ARRAY_TASK_ID", sub {
    my ($qdir, $base, $script) = @_;
    return "$submit $flags --job-name=$base --open-mode=append -o $qdir/$base.%a.out $array $script";
}, {
    id_re => qr/Submitted batch job (\d+)/,
    alive => sub {
        my ($id) = @_;
        # -r lists each queued or running array task on its own line; %K is its index
        my ($rc, $out) = Tse2Jobs::query(($ENV{TSE2_SQUEUE} // "squeue") . " -h -r -j $id -o %K");
        return {} if $out =~ /Invalid job id/i;     # purged after MinJobAge
        return undef if $rc != 0;                   # controller unreachable: keep waiting
        my %tasks = map { $_ => 1 } grep { /\S/ } split /\s+/, $out;   # finished tasks are not listed
        return { tasks => \%tasks };
    },
});
