#!/usr/bin/env perl
# split_scp.pl: splits a key-value list into N parts for JOB arrays (written for tse2).
#   split_scp.pl [--utt2spk utt2spk] in.scp out.1.scp out.2.scp ... out.N.scp
# Lines are kept in order and shared out evenly (sizes differ by at most one).  With --utt2spk,
# all utterances of a speaker go to the same part (parts are balanced by utterance count).
# Exits 1 when there are fewer lines (or speakers) than parts, so no job gets an empty list.
use strict;
use warnings;

my $utt2spk;
while (@ARGV && $ARGV[0] =~ /^--/) {
    my $o = shift @ARGV;
    if ($o eq "--utt2spk") { $utt2spk = shift @ARGV; }
    else { die "split_scp.pl: unknown option $o\n"; }
}
die "usage: split_scp.pl [--utt2spk F] in.scp out.1.scp ... out.N.scp\n" if @ARGV < 2;
my ($in, @outs) = @ARGV;
open(my $fh, "<", $in) or die "split_scp.pl: cannot read $in: $!\n";
my @lines = grep { /\S/ } <$fh>;
close $fh;
my $n = scalar @outs;

my @groups;  # each group: list of lines that must stay together
if (defined $utt2spk) {
    my %spk;
    open(my $u, "<", $utt2spk) or die "split_scp.pl: cannot read $utt2spk: $!\n";
    while (<$u>) { my ($k, $s) = split; $spk{$k} = $s if defined $s; }
    close $u;
    my (%idx, @order);
    for my $l (@lines) {
        my ($k) = split(/\s+/, $l);
        my $s = $spk{$k};
        die "split_scp.pl: $k of $in has no speaker in $utt2spk\n" unless defined $s;
        if (!exists $idx{$s}) { $idx{$s} = scalar @groups; push @groups, []; }
        push @{ $groups[$idx{$s}] }, $l;
    }
} else {
    @groups = map { [$_] } @lines;
}
die "split_scp.pl: cannot split " . scalar(@groups) . (defined $utt2spk ? " speakers" : " lines")
  . " of $in into $n parts\n" if @groups < $n;

# Contiguous chunks whose sizes follow the cumulative line count.
my $total = 0; $total += scalar @$_ for @groups;
my ($g, $done) = (0, 0);
for my $i (0 .. $n - 1) {
    my $target = int(($i + 1) * $total / $n + 0.5);
    my @part;
    # leave at least one group for every remaining part
    while ($g < @groups && ($done < $target || !@part) && (@groups - $g) > ($n - $i - 1)) {
        push @part, @{ $groups[$g] };
        $done += scalar @{ $groups[$g] };
        $g++;
    }
    push(@part, map { @$_ } @groups[$g .. $#groups]), $g = @groups if $i == $n - 1;
    my $out = $outs[$i];
    open(my $o, ">", "$out.tmp") or die "split_scp.pl: cannot write $out: $!\n";
    print $o @part;
    close $o;
    rename("$out.tmp", $out) or die "split_scp.pl: cannot rename $out.tmp: $!\n";
}
