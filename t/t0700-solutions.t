#!/usr/bin/perl
# Solutions: every executed correct verdict records its command (per slug and version, distinct,
# shortest first, bounded by solutions_max) and counts it, as does every correct verdict answered
# from Redis (most used first); GET /s?slug= answers the first 20 both ways as JSON, cached by
# nginx for solutions_ttl_s; commands come back exactly as sent, as JSON data.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

my $ttl = 3;
my $s = Cmdarena::Stack->new(conf => { solutions_ttl_s => $ttl, solutions_max => 20 });
my $zkey = 'cmdarena:sol::hello_world:1';    # cmdarena:sol:<cache_salt>:<slug>:<version>
my $ckey = 'cmdarena:solc::hello_world:1';   # the counts: cmdarena:solc:<cache_salt>:<slug>:<version>

sub run_cmd {
    my ($cmd, $want) = @_;
    my $res = $s->r(slug => 'hello_world', ver => 1, cmd => $cmd);
    is($res->{status}, 200, "/r '$cmd': 200") or diag $res->{content};
    is(($res->{json}{correct} ? 'correct' : 'incorrect'), $want, "/r '$cmd': $want");
    return $res;
}

sub solutions { $s->get('/s?slug=' . ($_[0] // 'hello_world')) }

# Wait until nginx's copy of /s has expired (it was filled at $since).
sub wait_ttl {
    my ($since) = @_;
    sleep 0.1 while time - $since < $ttl + 1.1;
}

# ---- nothing solved yet: an empty list in the documented shape ----
my $empty = solutions();
is($empty->{status}, 200, '/s: 200');
like($empty->{headers}{'content-type'} // '', qr{^application/json}, '/s: JSON');
is_deeply($empty->{json}, { slug => 'hello_world', ver => 1, solutions => [], shortest => [], most_used => [] },
    '/s: no solutions yet')
    or diag $empty->{content};
is($empty->{headers}{'x-cache-status'}, 'MISS', '/s: the first ask is an nginx MISS');
my $t_cached = time;

# ---- nginx keeps /s for solutions_ttl_s (checked again below, once solutions exist) ----
run_cmd('echo hello world', 'correct');
my $asked = time;
my $within = solutions();
if ($asked - $t_cached < $ttl - 0.5) {
    is($within->{headers}{'x-cache-status'}, 'HIT', "/s within $ttl s: an nginx HIT");
    is_deeply($within->{json}{solutions}, [], '...still the empty list it cached, though one exists now');
} else {
    diag sprintf('the machine took %.1f s for one command: the HIT within the TTL is not checked', $asked - $t_cached);
    $t_cached = $asked if ($within->{headers}{'x-cache-status'} // '') ne 'HIT';
}

# ---- incorrect verdicts are no solutions; correct ones are, once each ----
run_cmd('echo hello', 'incorrect');
run_cmd(q{echo 'hello world'}, 'correct');
run_cmd('echo "hello world"', 'correct');
run_cmd('printf "hello world\n"', 'correct');
is($s->redis('ZCARD', $zkey), 4, 'four distinct correct commands are in Redis');
is($s->redis('ZSCORE', $zkey, 'echo hello world'), 16, 'scored by length in bytes');
is($s->redis('ZSCORE', $zkey, 'echo hello'), '', 'the incorrect command is not there');

my $hit = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
is($hit->{headers}{'x-cache-status'}, 'HIT', 'the same command again: an nginx hit');
my $plus = $s->get('/r?slug=hello_world&ver=1&cmd=echo+hello+world');
is($plus->{headers}{'x-cmdarena-layer'}, 'redis', 'spelt with +: a Redis hit');
is($s->redis('ZCARD', $zkey), 4, 'answers from a cache add no new command');
is($s->redis('ZSCORE', $ckey, 'echo hello world'), 2, 'the Redis hit counts one more use; the nginx hit none');
is($s->redis('ZSCORE', $ckey, q{echo 'hello world'}), 1, 'a command solved once: one use');
is($s->redis('ZSCORE', $ckey, 'echo hello'), '', 'the incorrect command has no count');

# A wrong command whose own output says "correct":true, answered from Redis, is counted nowhere:
# the worker reads the outcome from the verdict's JSON, not from the text of the reply.
my $liar = q{echo '"correct":true'};
run_cmd($liar, 'incorrect');
my $liar_redis = $s->get('/r?slug=hello_world&ver=1&cmd=' . join('+', map { Cmdarena::Stack::uri_escape($_) } split / /, $liar));
is($liar_redis->{headers}{'x-cmdarena-layer'}, 'redis', 'the liar spelt with +: a Redis hit');
is($liar_redis->{json}{correct}, JSON::PP::false, 'still incorrect');
is($s->redis('ZSCORE', $ckey, $liar), '', 'a Redis hit of an incorrect verdict counts no use');

wait_ttl($t_cached);
my $list = solutions();
isnt($list->{headers}{'x-cache-status'}, 'HIT', "/s after $ttl s: fetched again");
$t_cached = time;
is_deeply($list->{json}{solutions},
    ['echo hello world', 'echo "hello world"', q{echo 'hello world'}, 'printf "hello world\n"'],
    'shortest first; equal lengths in byte order (" before \')') or diag $list->{content};
is_deeply($list->{json}{shortest}[0], { cmd => 'echo hello world', length => 16, uses => 2 },
    'shortest: each with its length in bytes and its uses') or diag $list->{content};
is_deeply([map { $_->{cmd} } @{ $list->{json}{shortest} // [] }], $list->{json}{solutions},
    'shortest lists the same commands as solutions, in the same order');
is_deeply($list->{json}{most_used}[0], { cmd => 'echo hello world', length => 16, uses => 2 },
    'most_used: the command used twice comes first') or diag $list->{content};
is(scalar @{ $list->{json}{most_used} // [] }, 4, 'most_used lists all four');
is_deeply([map { $_->{uses} } @{ $list->{json}{most_used} }[1 .. 3]], [1, 1, 1], 'the others once each');
my ($max_age) = ($list->{headers}{'cache-control'} // '') =~ /max-age=(\d+)/;
ok(defined $max_age && $max_age <= $ttl,
    "browsers keep /s no longer than solutions_ttl_s ($ttl): " . ($list->{headers}{'cache-control'} // 'no Cache-Control'));

# ---- commands are stored as sent and returned as data ----
my $markup = q{echo hello world # <script>alert("x")</script> & é ✓ \\ "q"};
run_cmd($markup, 'correct');
my $invalid = "echo hello world #\xff\xfe";
run_cmd($invalid, 'correct');
my $raw = `redis-cli -s '${\ $s->redis_socket}' --raw ZRANGE $zkey 0 -1`;
ok(index($raw, "#\xff\xfe") >= 0, 'Redis holds the invalid UTF-8 bytes exactly as sent');
wait_ttl($t_cached);
$list = solutions();
$t_cached = time;
my %shown = map { $_ => 1 } @{ $list->{json}{solutions} // [] };
my $markup_chars = $markup;
utf8::decode($markup_chars);
ok($shown{$markup_chars}, 'markup, quotes, backslashes and UTF-8 come back unchanged') or diag $list->{content};
ok($shown{"echo hello world #\x{fffd}\x{fffd}"}, 'invalid UTF-8 comes back as U+FFFD (JSON must be UTF-8)')
    or diag $list->{content};
like($list->{content}, qr/<script>/, 'no HTML escaping in the JSON: the page shows it as text');

# ---- the first 20 are shown; at most solutions_max are kept, the longest go ----
my @numbered = map { "echo hello world #$_" } 1 .. 16;
run_cmd($_, 'correct') for @numbered;
is($s->redis('ZCARD', $zkey), 20, 'solutions_max (20) bounds the set');
is($s->redis('ZCARD', $ckey), 20, 'and the counts');
is($s->redis('ZSCORE', $zkey, $markup), '', 'the longest command was dropped');
wait_ttl($t_cached);
$list = solutions();
$t_cached = time;
is(scalar @{ $list->{json}{solutions} // [] }, 20, '/s shows 20');
my @lengths = map { length } @{ $list->{json}{solutions} // [] };
is_deeply(\@lengths, [sort { $a <=> $b } @lengths], 'in order of length');

# ---- one list per challenge ----
my $other = solutions('list_files');
is($other->{status}, 200, '/s?slug=list_files: 200');
is_deeply($other->{json}{solutions}, [], "another challenge's list is empty") or diag $other->{content};
is_deeply($other->{json}{most_used}, [], "and its most used") or diag $other->{content};

# ---- bad requests are JSON errors, never cached ----
for my $case (['missing slug', '/s', 400, 'missing_parameter'], ['empty slug', '/s?slug=', 400, 'missing_parameter'],
    ['bad slug', '/s?slug=..%2Fetc', 400, 'invalid_slug'], ['unknown slug', '/s?slug=no_such_thing', 404, 'unknown_challenge'],
    ['unknown parameter', '/s?slug=hello_world&x=1', 400, 'unknown_parameter'],
    ['repeated slug', '/s?slug=hello_world&slug=list_files', 400, 'repeated_parameter']) {
    my ($label, $path, $status, $code) = @$case;
    for my $try (1, 2) {
        my $res = $s->get($path);
        is($res->{status}, $status, "/s $label: $status (try $try)");
        is($res->{json}{code}, $code, "/s $label: $code") or diag $res->{content};
        isnt($res->{headers}{'x-cache-status'} // '', 'HIT', "/s $label: not from nginx's cache");
        like($res->{headers}{'cache-control'} // '', qr/no-store/, "/s $label: no-store");
    }
}
my $post = $s->get('/s?slug=hello_world', method => 'POST');
is($post->{status}, 405, '/s POST: 405');
is($post->{json}{code}, 'method_not_allowed', '/s POST: method_not_allowed');

# ---- Redis down: 503, not cached; back: answers again ----
$s->stop_redis;
my $down = solutions('print_file');
is($down->{status}, 503, '/s with Redis down: 503') or diag $down->{content};
is($down->{json}{code}, 'solutions_unavailable', '/s with Redis down: solutions_unavailable');
ok(($down->{headers}{'retry-after'} // 0) >= 1, '/s with Redis down: Retry-After');
$s->start_redis;
my $back;
for (1 .. 40) {
    $back = solutions('print_file');
    last if $back->{status} == 200;
    sleep 0.1;
}
is($back->{status}, 200, '/s once Redis is back: 200 (the 503 was not cached)');

$s->stop;
done_testing;
