#!/usr/bin/perl
# Bounded memory (issue 12): a verdict served and stored is at most 96 KiB whatever the output
# holds (a control-byte flood escapes six times over in JSON); the cache's Redis has a maxmemory
# and an eviction policy; the solutions live in a second, persistent instance and survive a
# restart of either.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(time);

my $MAX = 96 * 1024;
my $run = "$$-" . int(time);
my $s = Cmdarena::Stack->new(workers => 2, solutions_instance => 1);

# ---- the cache's Redis is bounded, the solutions' one persistent ----
like($s->redis('CONFIG', 'GET', 'maxmemory'), qr/^maxmemory\s+[1-9]\d*$/m, "the cache's Redis has a maxmemory");
like($s->redis('CONFIG', 'GET', 'maxmemory-policy'), qr/volatile-lru|allkeys-lru/, 'and evicts least recently used keys');
like($s->redis_solutions('CONFIG', 'GET', 'appendonly'), qr/appendonly\s+yes/, "the solutions' Redis appends to disk");
like($s->redis_solutions('CONFIG', 'GET', 'maxmemory-policy'), qr/noeviction/, 'and never evicts');

# ---- a control-byte flood ----
my $flood = "head -c 65536 /dev/zero | tr '\\0' '\\1' # $run";
my $res = $s->r(slug => 'hello_world', ver => 1, cmd => $flood);
is($res->{status}, 200, 'a control-byte flood: 200') or diag substr($res->{content} // '', 0, 300);
cmp_ok(length($res->{content}), '<=', $MAX, 'the reply is at most 96 KiB (' . length($res->{content}) . ' bytes)');
cmp_ok(length($res->{content}), '>', $MAX - 1024, 'and holds as much of the output as fits');
is(ref $res->{json} eq 'HASH' && $res->{json}{truncated} ? 1 : 0, 1, 'flagged truncated');
like($res->{json}{output} // '', qr/\A\x01+\z/, 'the output is the flood, cut');
my ($key) = grep { !/:lock$/ } split /\n/, $s->redis('--scan', '--pattern', 'cmdarena:v:*:hello_world:1:' . sha256_hex($flood));
ok($key, 'the verdict is in Redis');
my $stored = $key ? $s->redis('STRLEN', $key) : 0;
cmp_ok($stored, '<=', $MAX, "the value in Redis is at most 96 KiB ($stored bytes)");
is($stored, length($res->{content}), 'and is the reply served');
my $again = $s->r(slug => 'hello_world', ver => 1, cmd => $flood);
is($again->{content}, $res->{content}, "asked again (nginx's cache): the same bounded reply");
$s->wipe_nginx_cache;
my $from_redis = $s->r(slug => 'hello_world', ver => 1, cmd => $flood);
is($from_redis->{headers}{'x-cmdarena-layer'}, 'redis', 'and from Redis');
is($from_redis->{content}, $res->{content}, 'the same reply');

# ---- solutions survive the cache's loss and their own instance's restart ----
my $sol = "echo hello world # $run";
is($s->r(slug => 'hello_world', ver => 1, cmd => $sol)->{status}, 200, 'a correct command');
my $zkey = 'cmdarena:sol::hello_world:1';
is($s->redis_solutions('ZSCORE', $zkey, $sol), length($sol), "recorded in the solutions' instance");
is($s->redis('EXISTS', $zkey), 0, "not in the cache's");
$s->stop_redis;
$s->start_redis;
is($s->redis('DBSIZE'), 0, "the cache's Redis restarted empty (every verdict gone, as if evicted)");
$s->stop_solutions_redis;
$s->start_solutions_redis;
is($s->redis_solutions('ZSCORE', $zkey, $sol), length($sol), "the solutions' Redis restarted: the solution is still there");
my $list;
for (1 .. 30) {    # a worker that saw the instance go retries after a second
    $list = $s->get('/s?slug=hello_world');
    last if $list->{status} == 200 && grep { $_ eq $sol } @{ $list->{json}{solutions} // [] };
    $s->wipe_nginx_cache;
    select(undef, undef, undef, 0.2);
}
ok((grep { $_ eq $sol } @{ $list->{json}{solutions} // [] }), 'GET /s still lists it') or diag $list->{content};

$s->stop;
done_testing;
