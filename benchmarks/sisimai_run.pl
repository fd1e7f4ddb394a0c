#!/usr/bin/perl
# Classify each file named on standard input with Sisimai; print one TSV line per result
# (hard: 1 when Sisimai 4 sets softbounce to 0) and, on standard error, the seconds spent inside Sisimai->make.
use strict;
use warnings;
use Sisimai;
use Time::HiRes qw(time);

my $spent = 0;
while (my $path = <STDIN>) {
    chomp $path;
    my $start = time;
    my $results = Sisimai->make($path, 'delivered' => 1, 'vacation' => 1) || [];
    $spent += time - $start;
    my $index = 0;
    for my $entry (@$results) {
        print join("\t", $path, $index++, $entry->reason // '', $entry->deliverystatus // '',
            $entry->replycode // '', ($entry->softbounce // -1) == 0 ? 1 : 0), "\n";
    }
    print join("\t", $path, -1, '', '', '', 0), "\n" unless @$results;
}
printf STDERR "%.6f\n", $spent;
