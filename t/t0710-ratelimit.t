#!/usr/bin/perl
# Rate limits. The pool's own: executions (cache misses) per client address, a token bucket in
# Redis; over it a 429 JSON with Retry-After, never cached; cache hits do not count. The client
# address is what nginx's realip module makes of REMOTE_ADDR and X-Forwarded-For (trusted_proxies
# rendered as set_real_ip_from; the app reads no header). In front,
# nginx's limit_req guards /r for every request, hits included (loopback exempt in tests).
#
# Loopback has many addresses: requests from 127.0.0.2 play a trusted proxy, 127.0.0.3 a
# stranger that nginx's limit applies to (only 127.0.0.1 is exempt here).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

my ($count, $window) = (3, 30);    # 3 executions, then one every 10 s
my $s = Cmdarena::Stack->new(workers => 2, conf => { rate_limit_count => $count, rate_limit_window_s => $window,
    rate_limit_burst => $count, trusted_proxies => '127.0.0.2' });
my $json = JSON::PP->new->utf8;

sub client {
    my ($addr) = @_;
    return HTTP::Tiny->new(timeout => 30, keep_alive => 0, local_address => $addr);
}
my %from = map { $_ => client($_) } qw(127.0.0.1 127.0.0.2 127.0.0.3);

# GET /r for hello_world from an address, optionally with X-Forwarded-For.
sub run_from {
    my ($addr, $cmd, $xff) = @_;
    my $res = $from{$addr}->get($s->url(slug => 'hello_world', ver => 1, cmd => $cmd),
        { headers => { defined $xff ? ('X-Forwarded-For' => $xff) : () } });
    $res->{json} = eval { $json->decode($res->{content}) };
    return $res;
}

sub executes {
    my ($label, $addr, $cmd, $xff) = @_;
    my $before = $s->executions;
    my $res = run_from($addr, $cmd, $xff);
    is($res->{status}, 200, "$label: 200") or diag "$res->{status} $res->{content}";
    is($s->executions, $before + 1, "$label: executed");
    return $res;
}

sub limited {
    my ($label, $addr, $cmd, $xff) = @_;
    my $before = $s->executions;
    my $res = run_from($addr, $cmd, $xff);
    is($res->{status}, 429, "$label: 429") or diag "$res->{status} $res->{content}";
    is($res->{json}{code}, 'rate_limited', "$label: code rate_limited");
    like($res->{json}{error} // '', qr/new commands/, "$label: the pool's sentence (not nginx's)");
    my $ra = $res->{headers}{'retry-after'} // '';
    ok($ra =~ /^\d+$/ && $ra >= 1 && $ra <= $window / $count, "$label: Retry-After 1..@{[$window / $count]} s: '$ra'");
    like($res->{headers}{'cache-control'} // '', qr/no-store/, "$label: no-store");
    isnt($res->{headers}{'x-cache-status'} // '', 'HIT', "$label: not from nginx's cache");
    is($s->executions, $before, "$label: nothing ran");
    return $res;
}

# ---- one client: $count executions, then 429 ----
my $t_first = time;
executes("127.0.0.1 command $_", '127.0.0.1', "echo a$_") for 1 .. $count;
my $refused = limited('127.0.0.1 one more', '127.0.0.1', 'echo a4');
if (time - $t_first > $window / $count * 0.7) {
    diag 'the machine is so slow that the bucket refilled during the run: the next checks may not hold';
}
limited('127.0.0.1 the same again (the 429 was not cached)', '127.0.0.1', 'echo a4');
my @keys = grep { /^cmdarena:v:/ && !/:lock$/ } split /\n/, $s->redis('KEYS', 'cmdarena:v:*');
is(scalar @keys, $count, "Redis holds the $count verdicts, not the refusals");

# ---- cache hits do not count ----
my $hit = run_from('127.0.0.1', 'echo a1');
is($hit->{status}, 200, 'a command already run: 200 though the client is over its limit');
is($hit->{headers}{'x-cache-status'}, 'HIT', '...from nginx\'s cache');
my $redis_hit = $from{'127.0.0.1'}->get($s->base . '/r?slug=hello_world&ver=1&cmd=echo+a2');
is($redis_hit->{status}, 200, 'the same command spelt with +: 200');
is($redis_hit->{headers}{'x-cmdarena-layer'}, 'redis', '...from Redis');

# ---- X-Forwarded-For only counts from a trusted proxy ----
limited('127.0.0.1 claiming to be 198.51.100.7 (not a trusted proxy)', '127.0.0.1', 'echo a5', '198.51.100.7');
executes('direct from 127.0.0.3: its own bucket', '127.0.0.3', 'echo b1');
executes("via the trusted proxy for 198.51.100.7 #$_", '127.0.0.2', "echo c$_", '198.51.100.7') for 1 .. $count;
limited('via the trusted proxy for 198.51.100.7, over', '127.0.0.2', 'echo c4', '198.51.100.7');
limited('a client prepending a fake hop to its X-Forwarded-For', '127.0.0.2', 'echo c5', '203.0.113.9, 198.51.100.7');
executes('via the trusted proxy for 198.51.100.8: a fresh bucket', '127.0.0.2', 'echo d1', '198.51.100.8');
executes('the trusted proxy itself, no header: its own bucket', '127.0.0.2', 'echo e1');
executes('through two trusted hops (127.0.0.2 named in the header too)', '127.0.0.2', 'echo f1',
    '198.51.100.9, 127.0.0.2');
like($s->log('fcgi'), qr/client=198\.51\.100\.8 ep=r slug=hello_world/, 'the worker logs the forwarded client');

# ---- the bucket refills: after Retry-After, one more runs ----
my $wait = $refused->{headers}{'retry-after'} // 1;
sleep($wait + 0.2);
executes("127.0.0.1 after Retry-After ($wait s)", '127.0.0.1', 'echo a6');
limited('127.0.0.1 and then over again', '127.0.0.1', 'echo a7');

# ---- metrics ----
my $m = $s->metrics;
is($m->{cmdarena_rate_limited_total}, 6, 'cmdarena_rate_limited_total counts the refusals');
is($m->{'cmdarena_requests_total{endpoint="r",outcome="rate_limited"}'}, 6, 'and so do the requests by outcome');

# ---- nginx's limit_req in front: every request counts, hits included ----
my (%status, $first_refusal, $nginx_429);
for my $i (1 .. 200) {
    my $res = $from{'127.0.0.3'}->get($s->url(slug => 'hello_world', ver => 1, cmd => 'echo b1'));
    $status{ $res->{status} }++;
    if ($res->{status} == 429) {
        $first_refusal //= $i;
        $nginx_429 //= $res;
    }
}
ok(($status{429} // 0) > 0, "200 quick cache hits from 127.0.0.3: nginx refuses some (" .
    join(', ', map { "$_: $status{$_}" } sort keys %status) . ')');
ok(defined $first_refusal && $first_refusal > 60, 'not before the burst of 60 is used: first refusal at #'
    . ($first_refusal // 'none'));
is(($status{200} // 0) + ($status{429} // 0), 200, 'every answer is a 200 or a 429');
if ($nginx_429) {
    my $body = eval { $json->decode($nginx_429->{content}) } // {};
    is($body->{code}, 'rate_limited', "nginx's 429 is JSON with code rate_limited");
    is($nginx_429->{headers}{'retry-after'}, 1, "nginx's 429 has Retry-After: 1");
    like($nginx_429->{headers}{'cache-control'} // '', qr/no-store/, "nginx's 429 is no-store");
}
my %exempt;
$exempt{ $from{'127.0.0.1'}->get($s->url(slug => 'hello_world', ver => 1, cmd => 'echo a1'))->{status} }++ for 1 .. 200;
is_deeply(\%exempt, { 200 => 200 }, '200 quick hits from the exempt 127.0.0.1: all 200');

$s->stop;
done_testing;
