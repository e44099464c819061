#!/usr/bin/perl
# Two front nodes (nginx + cmdarena-fcgi each, distinct node_id) sharing one Redis act as one
# site: a verdict computed on one is a Redis hit on the other, identical commands sent to both
# at once run once, a client's execution limit counts on both, and solutions are shared.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Test::More;

my %conf = (rate_limit_count => 2, rate_limit_window_s => 60, rate_limit_burst => 2);
my $node_a = Cmdarena::Stack->new(workers => 3, conf => {%conf});
# Node B talks to node A's Redis (its own redis-server stays idle).
my $node_b = Cmdarena::Stack->new(workers => 3, conf => { %conf, redis => 'unix:' . $node_a->redis_socket });
isnt($node_a->node, $node_b->node, 'two nodes: ' . $node_a->node . ' and ' . $node_b->node);

# ---- a verdict computed on A answers on B from Redis ----
my $on_a = $node_a->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world # shared');
is($on_a->{headers}{'x-cmdarena-layer'}, 'executed', 'node A runs a new command');
my $on_b = $node_b->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world # shared');
is($on_b->{headers}{'x-cache-status'}, 'MISS', 'node B has not seen it (its own nginx cache)');
is($on_b->{headers}{'x-cmdarena-layer'}, 'redis', '...and answers it from the shared Redis');
is($on_b->{content}, $on_a->{content}, 'with the same verdict');
is($node_b->executions, 0, 'node B ran nothing');

# ---- identical new commands on both nodes at once: one execution ----
# (From an address of their own: the one request that reaches a worker on each node costs a token,
# the runner's and the waiter's alike, and 127.0.0.1 spent one above.)
my $url_cmd = 'sleep 1; echo hello world # herd';
my @pids;
for my $i (1 .. 8) {
    my $node = $i % 2 ? $node_a : $node_b;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $res = HTTP::Tiny->new(timeout => 30, local_address => '127.0.0.4')
            ->get($node->url(slug => 'hello_world', ver => 1, cmd => $url_cmd));
        my $ok = $res->{status} == 200 && $res->{content} =~ /"correct":true/;
        POSIX::_exit($ok ? 0 : 1);
    }
    push @pids, $pid;
}
my $fails = 0;
for (@pids) { waitpid($_, 0); $fails++ if $? }
is($fails, 0, '8 identical requests, 4 on each node: all correct');
is($node_a->executions + $node_b->executions, 2, 'the two nodes ran it once between them (plus the first command)');

# ---- a client's execution limit counts on both nodes ----
my $client = HTTP::Tiny->new(timeout => 30, local_address => '127.0.0.3');
my @got = map { $client->get(($_ == 3 ? $node_b : $node_a)->url(slug => 'hello_world', ver => 1, cmd => "echo limited $_"))->{status} } 1 .. 3;
is_deeply(\@got, [200, 200, 429], '127.0.0.3: two executions on A, then B refuses the third (429)');

# ---- solutions are shared ----
my $sol = $node_b->get('/s?slug=hello_world');
ok((grep { $_ eq 'echo hello world # shared' } @{ $sol->{json}{solutions} // [] }), 'node B lists the solution found on node A')
    or diag $sol->{content};

$node_b->stop;
$node_a->stop;
done_testing;
