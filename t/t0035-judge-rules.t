#!/usr/bin/perl
# The rules of the judge (runner/README.md), each proved by forgeries that must be judged incorrect:
#   1 a check compares with $CMDARENA_ORIG, sees through permissions, and a symlink is not a file;
#   2 no state crosses from run 1 to run 2 (/tmp, HOME, /dev/shm, System V IPC, the tmpfs);
#   3 a randomize that prints nothing or fails is never a pass;
#   4 scripts fail closed (strict mode; a check passes only through `pass`);
#   5 a verdict that measured the machine or the challenge is neither stored in Redis nor a solution,
#     and nginx keeps it for transient_ttl_s at most;
#   6 setup's processes are out of the command's reach unless setup_killable.
# Scripts also run on cmd-no-bin challenges, while the command there still finds no binary.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use JSON::PP;
use Test::More;

my $root = Cmdarena::Stack::root();
my $check = Cmdarena::Stack::build_dir() . '/fcgi/cmdarena-check';
my $state = $ENV{CMDARENA_STATE} // "$root/var";
my $engine = Cmdarena::Stack::engine();
ok(Cmdarena::Stack::engine_answers(), 'the engine answers') or BAIL_OUT('no Docker engine');

sub image_for {
    my ($dir) = @_;
    my $image = `'$root/runner/image/build' --runner '@{[Cmdarena::Stack::build_dir()]}/runner/cmdarena-runner' --challenges '$dir' --state '$state' 2>/dev/null`;
    chomp $image;
    like($image, qr/^cmdarena-sandbox:[0-9a-f]{16}$/, "an image for $dir");
    return $image;
}

# cmdarena-check's TAP as { description => [ok, diag] }.
sub judge_all {
    my ($dir, $image, @slugs) = @_;
    my $out = `'$check' --challenges '$dir' --image '$image' --engine '$engine' --jobs 2 @slugs 2>&1`;
    my (%r, $last);
    for (split /\n/, $out) {
        if (/^(not ok|ok) \d+ - (.*)$/) {
            $last = $2;
            $r{$last} = [ $1 eq 'ok', '' ];
        } elsif (/^#(.*)$/ && defined $last) {
            $r{$last}[1] .= "$1\n";
        }
    }
    return (\%r, $out);
}

# ---- rules 1, 2, 4, 6 and cmd-no-bin: every example correct, every forgery incorrect ----
my $good = "$root/t/fixtures/judge";
my $image = image_for($good);
for my $round (1 .. 2) {    # randomized draws differ: judge twice
    my ($r, $out) = judge_all($good, $image);
    cmp_ok(scalar keys %$r, '>=', 20, "round $round: every example and forgery was judged") or diag $out;
    for my $what (sort keys %$r) {
        ok($r->{$what}[0], "round $round: $what") or diag $r->{$what}[1];
    }
}

# ---- rules 3 and 4: a faulty randomize or check never passes; the verdict says so and is transient ----
my $faulty = "$root/t/fixtures/judge-faulty";
my $fimage = image_for($faulty);
my ($r) = judge_all($faulty, $fimage, qw(empty_randomize failing_randomize fallthrough_check));
my %want = (
    empty_randomize   => qr/could not be changed for the second run/,
    failing_randomize => qr/could not be changed for the second run/,
    fallthrough_check => qr/The check did not finish/,
);
for my $slug (sort keys %want) {
    my ($what) = grep { /^\Q$slug\E: example / } keys %$r;
    ok(defined $what && !$r->{$what}[0], "$slug: its example is not judged correct");
    like(defined $what ? $r->{$what}[1] : '', $want{$slug}, "$slug: the message says why");
}

# ---- rule 5 through the service: transient verdicts are kept briefly by nginx only ----
{
    local $ENV{CMDARENA_IMAGE} = $fimage;
    my $s = Cmdarena::Stack->new(challenges => $faulty, conf => { pool_size => 1, pool_size_nobin => 0, transient_ttl_s => 60 });
    my %cmds = (empty_randomize => 'echo x', fallthrough_check => 'touch y.txt', failing_randomize => 'sleep 30');
    for my $slug (sort keys %cmds) {
        my $res = $s->r(slug => $slug, ver => 1, cmd => $cmds{$slug});
        is($res->{status}, 200, "$slug: 200") or diag $res->{content};
        ok(!$res->{json}{correct}, "$slug: incorrect");
        like($res->{headers}{'cache-control'} // '', qr/max-age=(\d+)/, "$slug: cacheable briefly");
        my ($age) = ($res->{headers}{'cache-control'} // '') =~ /max-age=(\d+)/;
        cmp_ok($age // 99999, '<=', 60, "$slug: for transient_ttl_s at most");
    }
    # A sound verdict beside them is stored and listed: the two checks below can see keys.
    ok($s->r(slug => 'plain_echo', ver => 1, cmd => 'echo x')->{json}{correct}, 'plain_echo: correct');
    my @keys = split /\n/, $s->redis('--scan', '--pattern', 'cmdarena:v:*');
    is(scalar(grep { !/:lock$/ } @keys), 1, 'Redis holds one verdict: the sound one') or diag explain \@keys;
    like($keys[0] // '', qr/:plain_echo:/, 'it is plain_echo\'s');
    is($s->redis('--scan', '--pattern', 'cmdarena:sol:*:plain_echo:*') ne '' ? 1 : 0, 1, 'plain_echo has a solution');
    is(join(',', grep { !/plain_echo/ } split /\n/, $s->redis('--scan', '--pattern', 'cmdarena:sol:*')), '',
        'no transient verdict became a solution');
    $s->stop;
}
done_testing;
