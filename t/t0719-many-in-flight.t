#!/usr/bin/perl
# Waiting costs kilobytes, not a process (issue 12): with the defaults (workers = 2 per core,
# worker_threads = 64) a node holds 256 requests in flight. 256 spellings of one slow command that
# nginx cannot fold (letters percent-encoded or not) all reach the workers at once: one runs, 255
# wait for its verdict; every one is answered, by the same few processes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

my $N = 256;
my $run = "$$-" . int(time);
my $s = Cmdarena::Stack->new(workers => 4, conf => { worker_threads => 64, backlog => 512 });

sub rss_kib {    # resident memory of the pool's workers, in KiB
    my $sum = 0;
    for my $pid ($s->children_of($s->fcgi_pid)) {
        open(my $fh, '<', "/proc/$pid/status") or next;
        while (<$fh>) { $sum += $1 if /^VmRSS:\s+(\d+)/ }
    }
    return $sum;
}

my $cmd = "sleep 3; echo hello world # $run";
my @letters = grep { substr($cmd, $_, 1) =~ /[a-z]/ } 0 .. length($cmd) - 1;
my @paths;
for my $i (0 .. $N - 1) {
    my $enc = '';
    for my $p (0 .. length($cmd) - 1) {
        my $c = substr($cmd, $p, 1);
        my ($bit) = grep { $letters[$_] == $p } 0 .. 7;
        $enc .= defined $bit && ($i >> $bit) & 1 ? sprintf('%%%02X', ord $c) : Cmdarena::Stack::uri_escape($c);
    }
    push @paths, "/r?slug=hello_world&ver=1&cmd=$enc";
}
my %distinct = map { $_ => 1 } @paths;
is(scalar keys %distinct, $N, "$N distinct spellings of one command");

my $procs_before = scalar $s->children_of($s->fcgi_pid);
my $rss_idle = rss_kib();
my $runs = $s->executions;
my $t0 = time;
my (%sock, %buf);
my $sel = IO::Select->new;
for my $path (@paths) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $s->port, Proto => 'tcp') or die "connect: $!";
    print $c "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    $sock{ fileno $c } = $c;
    $buf{ fileno $c } = '';
    $sel->add($c);
}
my ($rss_peak, $waiting_peak) = (0, 0);
my $deadline = time + 30;
while ($sel->count && time < $deadline) {
    for my $c ($sel->can_read(0.2)) {
        my $n = sysread($c, my $chunk, 65536);
        if ($n) { $buf{ fileno $c } .= $chunk; next }
        $sel->remove($c);
        close $c;
    }
    my $rss = rss_kib();
    $rss_peak = $rss if $rss > $rss_peak;
}
my $took = time - $t0;
my @status = map { $buf{$_} =~ m{^HTTP/1\.\d (\d+)} ? $1 : 0 } keys %buf;
my %by;
$by{$_}++ for @status;
is($by{200} // 0, $N, "all $N answered 200 (" . join(', ', map { "$_: $by{$_}" } sort keys %by) . sprintf(') in %.1f s', $took));
is(scalar(grep { /"correct":true/ } values %buf), $N, 'each with the verdict');
is($s->executions - $runs, 1, 'the command ran once');
cmp_ok($took, '<', 15, 'all within the hard deadline and a margin');
is(scalar $s->children_of($s->fcgi_pid), $procs_before, 'by the same processes (no new ones)');
my $log = $s->log('fcgi');
my $inflight = () = $log =~ /layer=inflight status=200/g;
cmp_ok($inflight, '>=', $N - 1 - 16, "$inflight waited in workers for the one execution");
diag sprintf('workers RSS: %.1f MiB idle, %.1f MiB with %d requests in flight: %.0f KiB a waiting request',
    $rss_idle / 1024, $rss_peak / 1024, $N, ($rss_peak - $rss_idle) / $N);

$s->stop;
done_testing;
