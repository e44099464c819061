#!/usr/bin/perl
# Limits without Redis (issue 12): when Redis is down or refuses writes (OOM), each node still
# limits executions per client with its own token bucket in shared memory across its workers;
# when Redis answers again, its buckets decide again. Every request that reaches a worker and is
# not a cache hit costs a token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

my ($count, $window) = (3, 30);
my $s = Cmdarena::Stack->new(workers => 4, conf => { rate_limit_count => $count, rate_limit_window_s => $window,
    rate_limit_burst => $count, limits_exempt => '127.0.0.6' }, limit_exempt => '"127.0.0.1" ""; "127.0.0.4" ""; "127.0.0.5" "";');
my $json = JSON::PP->new->utf8;
my $run = "$$-" . int(time);

sub run_from {
    my ($addr, $cmd) = @_;
    my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 0, local_address => $addr);
    my $res = $http->get($s->url(slug => 'hello_world', ver => 1, cmd => $cmd));
    $res->{json} = eval { $json->decode($res->{content}) };
    return $res;
}

sub burst_then_429 {
    my ($label, $addr) = @_;
    my $before = $s->executions;
    my @st = map { run_from($addr, "echo hello world # $label $run $_")->{status} } 1 .. $count;
    is_deeply(\@st, [(200) x $count], "$label: the first $count new commands run");
    is($s->executions, $before + $count, "$label: $count executions");
    my $res = run_from($addr, "echo hello world # $label $run over");
    is($res->{status}, 429, "$label: the next one: 429") or diag "$res->{status} $res->{content}";
    is($res->{json}{code}, 'rate_limited', "$label: code rate_limited");
    like($res->{headers}{'retry-after'} // '', qr/^(?:[1-9]|10)$/, "$label: Retry-After 1..10 s");
    is($s->executions, $before + $count, "$label: it did not run");
}

# ---- Redis stopped ----
$s->stop_redis;
burst_then_429('Redis stopped', '127.0.0.1');
cmp_ok($s->metrics->{cmdarena_rate_limit_local_total}, '>=', $count + 1, "the node's own buckets decided");
is($s->metrics->{cmdarena_redis_up}, 0, 'Redis is down');
$s->start_redis;

# ---- Redis back: its buckets take over (127.0.0.1's Redis bucket is full: it never spent there) ----
my $local = $s->metrics->{cmdarena_rate_limit_local_total};
my $back;
for my $i (1 .. 30) {    # a worker waits up to a second before it tries Redis again
    $back = run_from('127.0.0.1', "echo hello world # back $run $i");
    last if $back->{status} == 200 && $s->redis('EXISTS', 'cmdarena:rl:127.0.0.1') == 1;
    sleep 0.2;
}
is($back->{status}, 200, 'Redis back: a client refused by the local bucket runs again (Redis bucket)');
is($s->redis('EXISTS', 'cmdarena:rl:127.0.0.1'), 1, "its bucket is in Redis again");
sleep 1.2;    # every worker has tried Redis again by now
my $local2 = $s->metrics->{cmdarena_rate_limit_local_total};
run_from('127.0.0.1', "echo hello world # back again $run $_") for 1 .. 2;
is($s->metrics->{cmdarena_rate_limit_local_total}, $local2, 'and the local buckets are not consulted');

# ---- Redis refusing writes (out of memory, noeviction) ----
$s->redis('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
$s->redis('CONFIG', 'SET', 'maxmemory', '1');
like($s->redis('SET', 'probe', 'x'), qr/OOM/, 'Redis now refuses writes (OOM)');
burst_then_429('Redis refusing writes', '127.0.0.4');
$s->redis('CONFIG', 'SET', 'maxmemory', '64mb');
$s->redis('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru');

# ---- waits cost a token too: identical requests that reach a worker ----
{
    my $cmd = "sleep 1; echo hello world # wait $run";
    my @kids;
    # Three spellings of one command that no cache in front can fold (%3B, %3b, and h as %68):
    # one runs, the others wait in workers for its verdict; all three are charged.
    my $enc = Cmdarena::Stack::uri_escape($cmd);
    (my $lower = $enc) =~ s/%3B/%3b/g;
    (my $h = $enc) =~ s/h/%68/g;
    my @qs = map { "slug=hello_world&ver=1&cmd=$_" } $enc, $lower, $h;
    my $before = $s->executions;
    for my $q (@qs) {
        my $pid = fork // die;
        if (!$pid) {
            HTTP::Tiny->new(timeout => 30, local_address => '127.0.0.5')->get($s->base . "/r?$q");
            POSIX::_exit(0);
        }
        push @kids, $pid;
        sleep 0.1;
    }
    waitpid($_, 0) for @kids;
    my $res = run_from('127.0.0.5', "echo hello world # after the waits $run");
    is($res->{status}, 429, 'three spellings of one command from one client cost its three tokens: the next one 429')
        or diag "$res->{status} $res->{content}";
    cmp_ok($s->executions - $before, '<=', 2, 'and the command ran at most twice (once if nginx folded the spellings)');
}

# ---- limits_exempt: an address no per-client limit of the pool counts ----
{
    my @st = map { run_from('127.0.0.6', "echo hello world # exempt $run $_")->{status} } 1 .. $count + 2;
    is_deeply(\@st, [(200) x ($count + 2)], "limits_exempt: $count + 2 new commands in a row all run");
}

$s->stop;
done_testing;
