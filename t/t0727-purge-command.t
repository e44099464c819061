#!/usr/bin/perl
# The admin guide's recipe for purging one command (conf/README.md, "What is kept, and for how
# long"), run as written against a live stack: every cached answer of that command in nginx's
# cache (however it was spelt), its verdicts in Redis and its place in the solution list go, and
# nothing else does.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use Test::More;

my $root = Cmdarena::Stack::root();
my $guide = do { local $/; open(my $fh, '<', "$root/conf/README.md") or die $!; <$fh> };
my ($recipe) = $guide =~ /\*\*Purging one command\*\*.*?```sh\n(.*?)```/s;
ok($recipe, 'the guide has the recipe') or BAIL_OUT('no recipe in conf/README.md');

my $s = Cmdarena::Stack->new;
my $cmd = 'echo hello world';
my $other = 'echo  hello world';
my $qs = 'slug=hello_world&ver=1&cmd=';
for my $spelling ("echo%20hello%20world", "echo+hello+world") {
    is($s->get("/r?$qs$spelling")->{json}{correct}, JSON::PP::true, "$spelling: correct");
    is($s->get("/r?$qs$spelling")->{headers}{'x-cache-status'}, 'HIT', "$spelling: then an nginx hit");
}
$s->r(slug => 'hello_world', ver => 1, cmd => $other);
like($s->get('/s?slug=hello_world')->{content}, qr/"\Q$cmd\E"/, 'the solutions list it');

# The recipe, with this stack's paths and Redis socket.
my $dir = $s->dir;
(my $run = $recipe) =~ s{/var/cache/cmdarena/nginx}{$dir/nginx/cache}g;
$run =~ s{\bredis-cli\b}{redis-cli -s '$dir/run/redis.sock'}g;
$run =~ s{^CMD=.*$}{CMD='$cmd'}m;
$run =~ s/'/'\\''/g;
my $out = `bash -eu -c '$run' 2>&1`;
is($?, 0, 'the recipe runs') or diag $out;

my $sol = $s->get('/s?slug=hello_world');
is($sol->{headers}{'x-cache-status'}, 'MISS', 'the solutions: not from nginx\'s cache');
unlike($sol->{content}, qr/"\Q$cmd\E"/, 'and without the command');
like($sol->{content}, qr/"\Q$other\E"/, 'but with the other');
my $executions = $s->executions;
for my $spelling ("echo%20hello%20world", "echo+hello+world") {
    my $res = $s->get("/r?$qs$spelling");
    is($res->{headers}{'x-cache-status'}, 'MISS', "$spelling: no longer in nginx's cache");
    is($res->{headers}{'x-cmdarena-layer'}, 'executed', "$spelling: nor in Redis (executed again)")
        if $spelling =~ /%20/;
}
is($s->executions, $executions + 1, 'one new execution (the second spelling found the new verdict)');
my $kept = $s->r(slug => 'hello_world', ver => 1, cmd => $other);
is($kept->{headers}{'x-cache-status'}, 'HIT', 'another command is still cached');
$s->stop;
done_testing;
