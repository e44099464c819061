#!/usr/bin/perl
# Every rejected request answers JSON {"error","code"} with the right status, is never cached
# (neither by nginx nor in Redis) and runs nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;

my $s = Cmdarena::Stack->new;
my $cmd_max = 1024;

sub rejected {
    my ($label, $path, $status, $code, %opt) = @_;
    my $before = $s->executions;
    my $keys_before = $s->redis('DBSIZE');
    for my $try (1, 2) {
        my $res = $s->get($path, %opt);
        is($res->{status}, $status, "$label: status $status (try $try)");
        next if ($opt{method} // '') eq 'HEAD';
        like($res->{headers}{'content-type'} // '', qr{^application/json}, "$label: JSON");
        is(ref $res->{json}, 'HASH', "$label: the body parses") or diag $res->{content};
        is($res->{json}{code}, $code, "$label: code $code") if defined $code;
        like($res->{json}{error} // '', qr/\w.*\w/, "$label: a sentence says why");
        isnt($res->{headers}{'x-cache-status'} // '', 'HIT', "$label: not served from nginx's cache (try $try)");
        if (exists $res->{headers}{'x-cache-status'} || $path =~ m{^/r}) {
            like($res->{headers}{'cache-control'} // '', qr/no-store/, "$label: Cache-Control: no-store");
        }
        $opt{check}->($res) if $opt{check};
    }
    is($s->executions, $before, "$label: nothing ran");
    is($s->redis('DBSIZE'), $keys_before, "$label: nothing was stored in Redis");
}

rejected('POST', '/r?slug=hello_world&ver=1&cmd=ls', 405, 'method_not_allowed', method => 'POST',
    check => sub { is($_[0]{headers}{allow}, 'GET', 'POST: Allow: GET') });
rejected('PUT', '/r?slug=hello_world&ver=1&cmd=ls', 405, 'method_not_allowed', method => 'PUT');
rejected('HEAD', '/r?slug=hello_world&ver=1&cmd=ls', 405, undef, method => 'HEAD');
rejected('unknown slug', '/r?slug=no_such_challenge&ver=1&cmd=ls', 404, 'unknown_challenge');
rejected('stale version', '/r?slug=hello_world&ver=2&cmd=ls', 409, 'stale_version',
    check => sub { is($_[0]{json}{ver}, 1, 'stale version: the reply carries the current version') });
rejected('missing cmd', '/r?slug=hello_world&ver=1', 400, 'missing_parameter');
rejected('empty cmd', '/r?slug=hello_world&ver=1&cmd=', 400, 'missing_parameter');
rejected('missing slug', '/r?ver=1&cmd=ls', 400, 'missing_parameter');
rejected('missing ver', '/r?slug=hello_world&cmd=ls', 400, 'missing_parameter');
rejected('repeated cmd', '/r?slug=hello_world&ver=1&cmd=ls&cmd=pwd', 400, 'repeated_parameter');
rejected('unknown parameter', '/r?slug=hello_world&ver=1&cmd=ls&x=1', 400, 'unknown_parameter');
rejected('NUL in cmd', '/r?slug=hello_world&ver=1&cmd=echo%00hi', 400, 'nul_byte');
rejected('control byte in cmd', '/r?slug=hello_world&ver=1&cmd=echo%01hi', 400, 'control_byte');
rejected('bad percent-encoding', '/r?slug=hello_world&ver=1&cmd=echo%zz', 400, 'invalid_encoding');
rejected('truncated percent-encoding', '/r?slug=hello_world&ver=1&cmd=echo%4', 400, 'invalid_encoding');
rejected('slug with a path', '/r?slug=..%2F..%2Fetc&ver=1&cmd=ls', 400, 'invalid_slug');
rejected('ver=1e3', '/r?slug=hello_world&ver=1e3&cmd=ls', 400, 'invalid_version');
rejected('ver=-1', '/r?slug=hello_world&ver=-1&cmd=ls', 400, 'invalid_version');
rejected('ver=99999999999999999999', '/r?slug=hello_world&ver=99999999999999999999&cmd=ls', 400, 'invalid_version');
rejected('cmd one byte over the limit', '/r?slug=hello_world&ver=1&cmd=' . ('x' x ($cmd_max + 1)), 414, 'cmd_too_long');
rejected('a 1 MiB query string', '/r?slug=hello_world&ver=1&cmd=' . ('y' x (1024 * 1024)), 414, 'query_too_long');
rejected('unknown path', '/no/such/page', 404, 'not_found');

# The limit itself is fine: a command of exactly cmd_max bytes runs.
my $exact = ': ' . ('x' x ($cmd_max - 2));
my $res = $s->r(slug => 'hello_world', ver => 1, cmd => $exact);
is($res->{status}, 200, "a command of exactly $cmd_max bytes is judged");
is($res->{json}{correct}, JSON::PP::false, 'and (doing nothing) is incorrect');

$s->stop;
done_testing;
