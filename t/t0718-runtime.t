#!/usr/bin/perl
# The OCI runtime is a setting (runtime = runc | crun, HostConfig.Runtime). The containers carry
# it; an unknown name is refused at start; and the verdict and hostile tests pass on crun too, on
# a dockerd of this test's own with crun registered (--add-runtime, as ./arena starts it). runc,
# the default, runs every other test.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Dockerd;
use Cmdarena::Stack;
use JSON::PP;
use Test::More;

my $build = Cmdarena::Stack::build_dir();

# ---- the setting ----
my $out = `'$build/fcgi/cmdarena-fcgi' -t -c '$Cmdarena::Stack::ROOT/conf/cmdarena.conf' -o challenges=$Cmdarena::Stack::ROOT/challenges -o runtime=kata 2>&1`;
isnt($?, 0, 'runtime = kata: refused');
like($out, qr/runtime must be runc or crun, not 'kata'/, 'saying what it takes');

sub runtime_of_containers {
    my ($s) = @_;
    my %rt;
    for my $c (@{ $s->containers($s->node) }) {
        my ($st, $info) = $s->docker('GET', "/containers/$c->{Id}/json");
        $rt{ $info->{HostConfig}{Runtime} // 'none' }++ if $st == 200;
    }
    return join ',', sort keys %rt;
}

{
    my $s = Cmdarena::Stack->new(workers => 1, conf => { runtime => 'runc' });
    is($s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world')->{status}, 200, 'runc: a verdict');
    is(runtime_of_containers($s), 'runc', "runc: the pool's containers run on runc");
    $s->stop;
}

# ---- crun, on an engine of our own ----
my $dd = Cmdarena::Dockerd->new(runtimes => { crun => '/usr/bin/crun' });
ok($dd->answers, 'our dockerd answers (pid ' . $dd->pid . '), crun registered');
{
    local $ENV{CMDARENA_ENGINE} = $dd->url;
    my ($st, $info) = Cmdarena::Stack->docker('GET', '/info');
    ok($st == 200 && exists $info->{Runtimes}{crun}, 'the engine lists crun among its runtimes');
    # One bare container first, so that a host crun cannot work on says so plainly (crun 1.8
    # refuses a cgroup v1/v2 hybrid host whose v2 hierarchy holds a controller, e.g. hugetlb).
    my ($cst, $c) = Cmdarena::Stack->docker('POST', '/containers/create', JSON::PP->new->encode({
        Image => Cmdarena::Stack::image(), Cmd => ['true'], HostConfig => { Runtime => 'crun', NetworkMode => 'none' } }));
    my ($sst, $serr) = Cmdarena::Stack->docker('POST', "/containers/$c->{Id}/start") if $cst == 201;
    Cmdarena::Stack->docker('DELETE', "/containers/$c->{Id}?force=1") if $cst == 201;
    ok(($sst // 0) == 204, 'crun starts a container on this host') or do {
        diag 'crun cannot start containers here: ' . (ref $serr ? $serr->{message} : $serr // "create: $cst");
        $dd->destroy;
        done_testing;
        exit;
    };
    my $s = Cmdarena::Stack->new(workers => 1, conf => { runtime => 'crun' });
    my $res = $s->r(slug => 'hello_world', ver => 1, cmd => 'echo hello world');
    is($res->{status}, 200, 'crun: a verdict') or diag $res->{content};
    is(runtime_of_containers($s), 'crun', "crun: the pool's containers run on crun");
    $s->stop;

    # The verdict and hostile tests, whole, on crun.
    local $ENV{CMDARENA_RUNTIME} = 'crun';
    for my $t (qw(t0010-verdicts.t t0400-hostile.t)) {
        my $log = `prove '$FindBin::Bin/$t' 2>&1`;
        is($?, 0, "$t passes on crun") or diag $log;
    }
}
$dd->destroy;

done_testing;
