#!/usr/bin/perl
# The request path end to end: nginx -> cmdarena-fcgi -> Redis -> a sandbox container -> back,
# with the reply format of the foundation issue and the two cache layers in front.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;

my $s = Cmdarena::Stack->new;

my $page = $s->get('/');
is($page->{status}, 200, 'the page is served');
like($page->{content}, qr/<html/i, 'it is HTML');

my $list = $s->get('/challenges.json');
is($list->{status}, 200, 'challenges.json is served');
my ($hello) = grep { $_->{slug} eq 'hello_world' } @{ $list->{json} // [] };
ok($hello, 'it lists hello_world') or BAIL_OUT('no hello_world challenge');
is($hello->{version}, 1, 'hello_world is version 1');
my %leaks = map { %$_ } @{ $list->{json} };
ok(!exists $leaks{$_}, "no challenge in challenges.json carries '$_'")
    for qw(example expected_output expected_failures check randomize setup);

# A correct verdict, in exactly the fixed format.
my $res = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
is($res->{status}, 200, 'echo hello world: 200');
is($res->{headers}{'content-type'}, 'application/json; charset=utf-8', 'JSON content type');
is($res->{headers}{'x-cache-status'}, 'MISS', 'first time: an nginx cache MISS');
is($res->{headers}{'x-cmdarena-layer'}, 'executed', 'it was executed');
ok(!exists $res->{headers}{'x-accel-expires'}, 'X-Accel-Expires is for nginx only');
is_deeply([sort keys %{ $res->{json} }], [sort qw(slug ver correct output exit_code message timed_out truncated)],
    'the reply has exactly the fixed members');
is($res->{content}, '{"slug":"hello_world","ver":1,"correct":true,"output":"hello world\n","exit_code":0,'
    . '"message":null,"timed_out":false,"truncated":false}', 'the reply is byte for byte the fixed format');

my $again = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
is($again->{headers}{'x-cache-status'}, 'HIT', 'second time: an nginx cache HIT');
is($again->{content}, $res->{content}, 'the same reply');

# An incorrect verdict says why.
my $wrong = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello');
is($wrong->{status}, 200, 'echo hello: 200');
is($wrong->{json}{correct}, JSON::PP::false, 'echo hello is incorrect');
is($wrong->{json}{output}, "hello\n", 'its output is shown');
like($wrong->{json}{message} // '', qr/\S/, 'with a message: ' . ($wrong->{json}{message} // 'none'));

# The nginx cache wiped: Redis answers and nothing runs again.
my $before = $s->executions;
$s->wipe_nginx_cache;
my $from_redis = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
is($from_redis->{headers}{'x-cache-status'}, 'MISS', 'after wiping nginx\'s cache: a MISS at nginx');
is($from_redis->{headers}{'x-cmdarena-layer'}, 'redis', 'answered from Redis');
is($from_redis->{content}, $res->{content}, 'with the same reply');
is($s->executions, $before, 'and no container ran');

# "+" and "%20" are two nginx keys for one command: the second is a Redis hit.
my $plus = $s->get('/r?slug=hello_world&ver=1&cmd=echo+hello+world');
is($plus->{headers}{'x-cmdarena-layer'}, 'redis', 'cmd=echo+hello+world is the same command for Redis');
is($plus->{json}{correct}, JSON::PP::true, 'and correct');
is($s->executions, $before, 'still no new container');

# The verdict really comes from bash in a locked-down container.
my $where = $s->r(slug => 'hello_world', ver => 1, cmd => 'pwd; id -u; echo $BASH_VERSION; cat /proc/1/cmdline | tr "\0" " "');
my @lines = split /\n/, $where->{json}{output} // '';
is($lines[0], '/var/challenges/hello_world', 'pwd is the challenge directory');
is($lines[1], '1000', 'commands run as uid 1000');
like($lines[2] // '', qr/^5\./, 'bash 5 runs them');
like($lines[3] // '', qr/cmdarena-runner/, 'PID 1 is the runner');
is($s->executions, $before + 1, 'that one ran');

$s->stop;
done_testing;
