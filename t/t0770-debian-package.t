#!/usr/bin/perl
# The Debian package: debian/ builds `cmdarena` (dpkg-buildpackage -b, in a copy of the tree,
# tests of the build off), lintian finds no error in it (only the warnings accepted below), it
# installs on this machine with its conffiles where a Debian admin looks for them, the stock
# nginx.conf loads our two parts (`nginx -t`), and `dpkg --purge` takes everything back.
# The machine must not have cmdarena installed otherwise: this test installs and purges it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use Cmdarena::StockNginx;
use File::Temp qw(tempdir);
use Test::More;

my $root = Cmdarena::Stack::root();
# A precondition that fails ends this test (failed), not the whole run.
sub give_up { diag "t0770: $_[0]"; done_testing; exit 1 }

is($<, 0, 'running as root (dpkg -i)') or give_up('it installs a package: run it as root');

# Accepted lintian warnings, each with its reason (conf/README.md lists them too).
my %accepted = (
    # Challenge files are data copied into the sandbox image as they are; a script a challenge
    # asks the player to make executable ships without its x bit on purpose.
    'script-not-executable' => qr{^usr/share/cmdarena/challenges/},
);

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    local $/;
    return scalar <$fh>;
}

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    return ($? == 0, $out);
}

sub installed { `dpkg-query -W -f='\${Status}' cmdarena 2>/dev/null` =~ /install ok installed|config-files/ }

my $had_user = getpwnam('cmdarena') ? 1 : 0;
my $we_installed = 0;
ok(!installed(), 'cmdarena is not installed here before the test') or give_up('cmdarena is installed: this test will not replace it (dpkg --purge cmdarena first if it is a leftover of this test)');

# ---- build, in a copy: the files git knows (committed or not, not ignored) and the page ----
my $tmp = tempdir('cmdarena-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $src = "$tmp/cmdarena-0.1.0";
mkdir $src or die "$src: $!";
my @page = -f "$root/htdocs/index.html" ? ('htdocs/index.html', map { s{^\Q$root\E/}{}r } glob("'$root/htdocs/vendor/'*")) : ();
ok(@page, 'the page is built (htdocs/index.html, htdocs/vendor: ./arena runs npm ci and htdocs/build-vendor)')
    or give_up('no page to package');
my $list = "$tmp/files";
open(my $lf, '>', $list) or die $!;
print $lf "$_\0" for (split(/\0/, `git -C '$root' ls-files -z -co --exclude-standard`), @page);
close $lf;
my ($ok, $out) = run("tar -C '$root' --null -T '$list' -cf - | tar -C '$src' -xf -");
ok($ok, 'the tree copied') or diag $out;
ok(!-e "$src/var" && !-e "$src/config.status", 'without state or a configured tree');

my $t0 = time;
($ok, $out) = run("cd '$src' && DEB_BUILD_OPTIONS='nocheck parallel=2' timeout 600 dpkg-buildpackage -us -uc -b");
ok($ok, 'dpkg-buildpackage -us -uc -b builds in ' . (time - $t0) . ' s') or diag substr($out, -4000);
my ($deb) = glob("'$tmp/'cmdarena_*_*.deb");
my ($changes) = glob("'$tmp/'cmdarena_*_*.changes");
ok($deb && $changes, 'it made cmdarena_*.deb and the .changes') or give_up('no package');

# ---- what the package holds ----
my %content = map { m{ \./(\S+?)/?$} ? ($1 => 1) : () } split /\n/, `dpkg-deb -c '$deb'`;
for my $f (qw(usr/sbin/cmdarena-fcgi usr/bin/cmdarena-check usr/libexec/cmdarena/cmdarena-runner
    usr/share/cmdarena/image/build usr/share/cmdarena/image/Dockerfile
    usr/share/cmdarena/challenges/challenges.yaml usr/share/cmdarena/htdocs/index.html usr/share/cmdarena/htdocs/challenges.json
    etc/cmdarena/cmdarena.conf etc/nginx/conf.d/cmdarena.conf etc/nginx/sites-available/cmdarena etc/logrotate.d/cmdarena
    lib/systemd/system/cmdarena-fcgi.service usr/share/man/man8/cmdarena-fcgi.8.gz usr/share/man/man5/cmdarena.conf.5.gz
    usr/share/man/man1/cmdarena-check.1.gz usr/share/man/man5/cmdarena-challenges.5.gz usr/share/doc/cmdarena/copyright
    usr/share/doc/cmdarena/admin-guide.md.gz usr/share/doc/cmdarena/examples/prometheus/cmdarena-alerts.yml
    usr/share/doc/cmdarena/examples/prometheus/cmdarena-dashboard.json var/log/cmdarena var/cache/cmdarena)) {
    ok($content{$f}, "the package has /$f");
}
ok(!grep(m{^usr/share/cmdarena/htdocs/(?:src|build-vendor)}, keys %content), 'not the page\'s sources or build script');
my %conffiles = map { $_ => 1 } split /\n/, `dpkg-deb -f '$deb' Conffiles 2>/dev/null; dpkg-deb -I '$deb' conffiles 2>/dev/null`;
ok($conffiles{$_}, "conffile $_") for qw(/etc/cmdarena/cmdarena.conf /etc/nginx/conf.d/cmdarena.conf
    /etc/nginx/sites-available/cmdarena /etc/logrotate.d/cmdarena);

# ---- lintian: no error; warnings only the accepted ones ----
($ok, $out) = run("timeout 600 lintian --no-tag-display-limit '$changes'");
my @errors = grep { /^E: / } split /\n/, $out;
is(scalar @errors, 0, 'lintian: no error') or diag join "\n", @errors;
my @warnings = grep { /^W: / } split /\n/, $out;
my @unexpected = grep {
    my ($tag, $ctx) = /^W: \S+: (\S+)(?: \[(.*)\])?/;
    !($tag && $accepted{$tag} && ($ctx // '') =~ $accepted{$tag});
} @warnings;
is(scalar @unexpected, 0, 'lintian: no warning but the accepted ones (' . scalar(@warnings) . ' accepted)')
    or diag join "\n", @unexpected;

# ---- install on this machine ----
$we_installed = 1;
($ok, $out) = run("DEBIAN_FRONTEND=noninteractive timeout 300 dpkg -i '$deb'");
ok($ok, 'dpkg -i installs it') or diag $out;
like(`dpkg-query -W -f='\${Status}' cmdarena`, qr/install ok installed/, 'dpkg: installed');
ok(getpwnam('cmdarena'), 'the system user cmdarena exists');
my @st = stat('/var/log/cmdarena');
is(sprintf('%04o %s', $st[2] & 07777, scalar getgrgid($st[5])), '0750 adm', '/var/log/cmdarena: 0750, group adm');
ok(!-e '/etc/systemd/system/multi-user.target.wants/cmdarena-fcgi.service', 'the unit is not enabled (the image comes first)');

# The parts are the tree's, rendered with the package's paths: one source of truth.
my %render = (
    http => ['conf/nginx-http.conf', '/etc/nginx/conf.d/cmdarena.conf',
        'CACHE_DIR=/var/cache/cmdarena/nginx', 'FCGI_SOCKET=/run/cmdarena/fcgi.sock', 'LIMIT_EXEMPT='],
    site => ['conf/nginx-site.conf', '/etc/nginx/sites-available/cmdarena',
        'LISTEN=80', 'SERVER_NAME=_', 'HTDOCS=/usr/share/cmdarena/htdocs', 'LOG_DIR=/var/log/cmdarena', 'CACHE_SALT=',
        'REAL_IP_FROM='],
);
for my $part (sort keys %render) {
    my ($tmpl, $file, @values) = @{ $render{$part} };
    my $want = `'$root/conf/render-nginx' '$root/$tmpl' @{[ map { "'$_'" } @values ]}`;
    is(slurp($file), $want, "$file is $tmpl rendered with the package's paths");
}

# The stock /etc/nginx/nginx.conf as installed: it includes conf.d/cmdarena.conf already.
($ok, $out) = run("nginx -t -e '$tmp/nginx-error.log'");
ok($ok, 'nginx -t: the stock config with conf.d/cmdarena.conf installed') or diag $out;
# And with the site enabled too (in a scratch copy of /etc/nginx, the default site still there).
my ($stock_ok, $stock_out) = Cmdarena::StockNginx::check(http => '/etc/nginx/conf.d/cmdarena.conf',
    site => '/etc/nginx/sites-available/cmdarena');
ok($stock_ok, 'nginx -t: the stock config, conf.d/cmdarena.conf and sites-enabled/cmdarena') or diag $stock_out;

($ok, $out) = run('cmdarena-fcgi -t -c /etc/cmdarena/cmdarena.conf');
ok($ok && $out =~ /^config ok: \d+ challenges/m, 'cmdarena-fcgi -t accepts /etc/cmdarena/cmdarena.conf') or diag $out;
($ok, $out) = run('cmdarena-check --lint --challenges /usr/share/cmdarena/challenges');
ok($ok, 'cmdarena-check lints the installed challenges') or diag $out;
($ok, $out) = run('systemd-analyze verify --man=no /lib/systemd/system/cmdarena-fcgi.service');
ok($ok, 'systemd-analyze verify accepts the installed unit') or diag $out;
($ok, $out) = run('logrotate -d /etc/logrotate.d/cmdarena');
ok($ok && $out !~ /^error:/m, 'logrotate -d accepts /etc/logrotate.d/cmdarena') or diag $out;
like($out, qr{/var/log/cmdarena/\*\.log}, 'it rotates /var/log/cmdarena/*.log');

# ---- purge takes everything back ----
($ok, $out) = run('DEBIAN_FRONTEND=noninteractive timeout 300 dpkg --purge cmdarena');
ok($ok, 'dpkg --purge cmdarena') or diag $out;
$we_installed = 0 if $ok;
ok(!installed(), 'not installed any more');
ok(!-e $_, "$_ is gone") for qw(/etc/nginx/conf.d/cmdarena.conf /etc/nginx/sites-available/cmdarena /etc/cmdarena
    /etc/logrotate.d/cmdarena /lib/systemd/system/cmdarena-fcgi.service /usr/sbin/cmdarena-fcgi /usr/share/cmdarena
    /var/log/cmdarena /var/cache/cmdarena /var/lib/cmdarena);
($ok, $out) = run("nginx -t -e '$tmp/nginx-error.log'");
ok($ok, 'the stock nginx config still loads after the purge') or diag $out;

# The package leaves its system user (Debian's practice); the test removes the one it made.
system('deluser --system --quiet cmdarena >/dev/null 2>&1') if !$had_user && getpwnam('cmdarena');
system('delgroup --system --quiet cmdarena >/dev/null 2>&1') if !$had_user && getgrnam('cmdarena');

END {
    # A test that stopped half-way still takes its package back.
    system('dpkg', '--purge', 'cmdarena') if $we_installed && installed();
}

done_testing;
