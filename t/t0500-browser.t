#!/usr/bin/perl
# The web terminal in a real browser: t/browser/page.js drives Debian's chromium (playwright-core
# from npm) against a real stack started here, and reports in TAP, relayed below. It loads the
# page, solves and fails challenges by typing, reloads, tries output that looks like markup, a
# deep link, a phone-sized screen, three challenges with the keyboard alone, and the verdicts for
# a timeout, a cut output, a rate limit (on a second stack), a stale version and a server gone.
# Issue 16, by keyboard: Tab completion from the real files only, verdicts that teach, two hints,
# giving up, the golf line, exporting the progress and importing it into fresh profiles (code and
# link), the light theme and its toggle, and the page's weight. Screenshots of the
# main states go to the stack's temp dir and to var/screenshots/.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use TAP::Parser;
use Test::More;

my $root = Cmdarena::Stack::root();
my $chromium = '/usr/bin/chromium';

# What the browser run needs; `./arena test` installs all of it. Missing means failing, not skipping.
my @missing;
push @missing, "$chromium (apt-get install chromium)" unless -x $chromium;
push @missing, "node (apt-get install nodejs)" unless grep { -x "$_/node" } split /:/, $ENV{PATH};
push @missing, "$root/node_modules/playwright-core (npm ci)" unless -f "$root/node_modules/playwright-core/package.json";
push @missing, "$root/htdocs/index.html (htdocs/build-vendor)" unless -f "$root/htdocs/index.html";
ok(!@missing, 'chromium, node, playwright-core and the built page are there')
    or diag "missing: " . join(', ', @missing) . "\nrun ./arena test (it installs and builds them)";
if (@missing) {
    done_testing;
    exit;
}

# The stack reads its own copy of the catalogue: the run bumps a version in it and reloads.
my $catalogue = tempdir('cmdarena-catalogue-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{CMDARENA_KEEP});
system('cp', '-a', "$root/challenges/.", $catalogue) == 0 or die "cannot copy the challenges to $catalogue\n";

my $s = Cmdarena::Stack->new(challenges => $catalogue);
# A second, small stack whose pool lets a client run one command per 30 s: a real 429.
my $limited = Cmdarena::Stack->new(workers => 1, conf => { pool_size => 1, pool_size_nobin => 0,
    rate_limit_count => 1, rate_limit_burst => 1, rate_limit_window_s => 30 });
my $shots = $s->dir . '/screenshots';
make_path($shots);

local $ENV{CMDARENA_BASE} = $s->base;
local $ENV{CMDARENA_BASE_LIMITED} = $limited->base;
local $ENV{CMDARENA_SHOTS} = $shots;
local $ENV{CMDARENA_CHALLENGES} = $catalogue;
local $ENV{CMDARENA_FCGI_PID} = $s->fcgi_pid;
local $ENV{TMPDIR} = $s->dir;    # chromium's fresh profile lives there too

my $parser = TAP::Parser->new({ exec => [ 'node', "$FindBin::Bin/browser/page.js" ], merge => 1 });
my $checks = 0;
while (my $r = $parser->next) {
    if ($r->is_test) {
        $checks++;
        ok($r->is_ok, $r->description =~ s/^- //r =~ s/\\#/#/gr);
    } elsif ($r->is_comment) {
        my $c = $r->as_string =~ s/^# ?//r;
        if ($c =~ /^screenshot: /) { note $c } else { diag $c }
    } elsif ($r->is_unknown && $r->as_string =~ /\S/) {
        diag('browser: ' . $r->as_string);
    }
}
cmp_ok($checks, '>=', 60, "the browser run made its checks ($checks)");
is($parser->exit, 0, 'the browser run exits 0');

# A copy of the screenshots outside the temp dir, for people to look at.
my $keep = "$root/var/screenshots";
make_path($keep);
unlink glob("$keep/*.png");    # only this run's
my @pngs = sort glob("$shots/*.png");
cmp_ok(scalar @pngs, '>=', 10, 'screenshots of the main states were saved');
for my $png (@pngs) {
    my ($name) = $png =~ m{([^/]+)$};
    copy($png, "$keep/$name") or diag "cannot copy $png to $keep: $!";
}
note "screenshots: $keep (and $shots while the temp dir is kept)";

$limited->stop;
$s->stop;
done_testing;
