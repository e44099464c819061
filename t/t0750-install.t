#!/usr/bin/perl
# make install (from the plain build, into a DESTDIR) installs like a daemon: the programs, the
# runner and the image inputs (complete: they make the very image the tree makes), the
# catalogue and the page, a config with the installation's paths that loads, samples and the
# admin guide, the man pages, a systemd unit that systemd-analyze accepts, nginx's two parts (which
# Debian's stock nginx.conf loads) and the logrotate file. A reinstall keeps a changed config;
# make uninstall takes back everything else.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cmdarena::Stack;
use Cmdarena::StockNginx;
use File::Temp qw(tempdir);
use Test::More;

my $root = Cmdarena::Stack::root();
my $build = $ENV{CMDARENA_PLAIN_BUILD} // "$root/var/build";
ok(-f "$build/Makefile", "the plain build is configured in $build") or BAIL_OUT('no plain build: run ./arena test');
my $dest = tempdir('cmdarena-install-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or return undef;
    local $/;
    return <$fh>;
}

# Where configure put things (prefix and the directories built on it).
my %dir;
for (split /\n/, slurp("$build/Makefile")) {
    $dir{$1} = $2 if /^(prefix|exec_prefix|bindir|sbindir|libexecdir|sysconfdir|localstatedir|datarootdir|datadir|docdir|mandir|PACKAGE_TARNAME) = (.*)$/;
}
my $expand;
$expand = sub { my $v = shift; $v =~ s/\$\{(\w+)\}|\$\((\w+)\)/$expand->($dir{ $1 \/\/ $2 } \/\/ '')/ge; $v };
%dir = map { $_ => $expand->($dir{$_}) } keys %dir;
my $prefix = $dir{prefix};
ok($prefix =~ m{^/}, "prefix: $prefix");
my $pkgdata = "$dir{datadir}/cmdarena";

my $out = `make -s -C '$build' install DESTDIR='$dest' 2>&1`;
is($?, 0, "make install DESTDIR=$dest") or diag $out;

# ---- what landed, with which modes ----
my %want = (
    "$dir{sbindir}/cmdarena-fcgi" => 0755,
    "$dir{bindir}/cmdarena-check" => 0755,
    "$dir{libexecdir}/cmdarena/cmdarena-runner" => 0755,
    "$pkgdata/image/build" => 0755,
    "$pkgdata/image/customize" => 0755,
    "$pkgdata/image/Dockerfile" => 0644,
    "$pkgdata/image/packages" => 0644,
    "$pkgdata/challenges/challenges.yaml" => undef,
    "$pkgdata/htdocs/challenges.json" => undef,
    "$dir{sysconfdir}/cmdarena/cmdarena.conf" => 0644,
    "$dir{docdir}/README.md" => 0644,
    "$dir{docdir}/admin-guide.md" => 0644,
    "$dir{docdir}/examples/nginx-http.conf" => 0644,
    "$dir{docdir}/examples/nginx-site.conf" => 0644,
    "$dir{docdir}/examples/render-nginx" => 0755,
    "$dir{docdir}/examples/prometheus/cmdarena-alerts.yml" => 0644,
    "$dir{docdir}/examples/prometheus/cmdarena-dashboard.json" => 0644,
    "$dir{sysconfdir}/nginx/conf.d/cmdarena.conf" => 0644,
    "$dir{sysconfdir}/nginx/sites-available/cmdarena" => 0644,
    "$dir{sysconfdir}/logrotate.d/cmdarena" => 0644,
    "$dir{docdir}/examples/cmdarena.conf" => 0644,
    "$dir{mandir}/man1/cmdarena-check.1" => 0644,
    "$dir{mandir}/man5/cmdarena.conf.5" => 0644,
    "$dir{mandir}/man5/cmdarena-challenges.5" => 0644,
    "$dir{mandir}/man8/cmdarena-fcgi.8" => 0644,
    "$prefix/lib/systemd/system/cmdarena-fcgi.service" => 0644,
);
for my $f (sort keys %want) {
    my @st = stat("$dest$f");
    ok(@st, "installed: $f") or next;
    is(sprintf('%04o', $st[2] & 07777), sprintf('%04o', $want{$f}), "$f: mode") if defined $want{$f};
}
is(slurp("$dest$dir{docdir}/admin-guide.md"), slurp("$root/conf/README.md"), 'the admin guide is conf/README.md');
my $diff = `diff -r --no-dereference '$root/challenges' '$dest$pkgdata/challenges' 2>&1`;
is($diff, '', 'the installed catalogue is the tree\'s, file for file (modes aside)');

# ---- nginx's parts: the installation's paths, and the stock Debian nginx.conf loads them ----
my $http = slurp("$dest$dir{sysconfdir}/nginx/conf.d/cmdarena.conf");
my $site = slurp("$dest$dir{sysconfdir}/nginx/sites-available/cmdarena");
unlike($http . $site, qr/@[A-Z_]+@/, 'no placeholder left in the nginx parts');
like($http, qr{^fastcgi_cache_path \Q$dir{localstatedir}\E/cache/cmdarena/nginx }m, "the cache in $dir{localstatedir}/cache/cmdarena");
like($http, qr{^\s*server unix:/run/cmdarena/fcgi\.sock;}m, 'the pool at /run/cmdarena/fcgi.sock');
like($site, qr{^\s*root \Q$pkgdata\E/htdocs;}m, 'the site serves the installed page');
like($site, qr{^\s*access_log \Q$dir{localstatedir}\E/log/cmdarena/nginx-access\.log cmdarena }m,
    "its access log in $dir{localstatedir}/log/cmdarena, hashed commands (format cmdarena)");
unlike($http . $site, qr/^\s*(?:pid|user|worker_processes|events|http)\b/m, 'no main-level directive: the stock nginx.conf keeps those');
ok(-d "$dest$dir{localstatedir}/log/cmdarena" && -d "$dest$dir{localstatedir}/cache/cmdarena", 'the log and cache directories exist');
my ($stock_ok, $stock_out) = Cmdarena::StockNginx::check(
    http => "$dest$dir{sysconfdir}/nginx/conf.d/cmdarena.conf", site => "$dest$dir{sysconfdir}/nginx/sites-available/cmdarena",
    rewrite => { "$dir{localstatedir}/" => "$dest$dir{localstatedir}/" });
ok($stock_ok, 'nginx -t: the stock Debian nginx.conf with both parts added (its default site still enabled)') or diag $stock_out;
# nginx -t opened the logs and made the cache directory: not the installation's.
unlink glob("'$dest$dir{localstatedir}/log/cmdarena/'*.log");
rmdir "$dest$dir{localstatedir}/cache/cmdarena/nginx";
my $rot = slurp("$dest$dir{sysconfdir}/logrotate.d/cmdarena");
like($rot, qr{^\Q$dir{localstatedir}\E/log/cmdarena/\*\.log \{}m, 'logrotate: the cmdarena logs');
my $rot_debug = `logrotate -d '$dest$dir{sysconfdir}/logrotate.d/cmdarena' 2>&1`;
is($?, 0, 'logrotate -d accepts it') or diag $rot_debug;
unlike($rot_debug, qr/^error:/m, 'with no error') or diag $rot_debug;

# ---- the programs run ----
like(`'$dest$dir{sbindir}/cmdarena-fcgi' -h 2>&1`, qr/^usage: cmdarena-fcgi/, 'the installed cmdarena-fcgi runs');
my $lint = `'$dest$dir{bindir}/cmdarena-check' --lint --challenges '$dest$pkgdata/challenges' 2>&1`;
is($?, 0, 'the installed cmdarena-check lints the installed catalogue') or diag $lint;

# ---- the installed config: the installation's paths, and it loads ----
my $conf = slurp("$dest$dir{sysconfdir}/cmdarena/cmdarena.conf");
like($conf, qr{^socket = /run/cmdarena/fcgi\.sock\b}m, 'cmdarena.conf: socket in /run/cmdarena (the unit\'s RuntimeDirectory)');
like($conf, qr{^pool_socket = /run/cmdarena/pool\.sock\b}m, 'cmdarena.conf: pool_socket in /run/cmdarena');
like($conf, qr{^challenges = \Q$pkgdata\E/challenges\b}m, "cmdarena.conf: challenges = $pkgdata/challenges");
my @set = grep { /^[a-z]/ } split /\n/, $conf;
is(scalar @set, 3, 'and nothing else is set: ' . join(' | ', @set));
# Loaded as installed, with only the DESTDIR prefix added to where the challenges are.
my $t = `'$dest$dir{sbindir}/cmdarena-fcgi' -t -c '$dest$dir{sysconfdir}/cmdarena/cmdarena.conf' -o 'challenges=$dest$pkgdata/challenges' 2>&1`;
is($?, 0, 'cmdarena-fcgi -t accepts the installed config') or diag $t;
chomp $t;
like($t, qr/^config ok: \d+ challenges/m, "...: $t");

# ---- the image inputs are complete: they make the image the tree makes ----
my $state = "$root/var";
my $tree_tag = `'$root/runner/image/build' --runner '$build/runner/cmdarena-runner' --challenges '$root/challenges' --state '$state' 2>/dev/null`;
chomp $tree_tag;
like($tree_tag, qr/^cmdarena-sandbox:[0-9a-f]{16}$/, "the tree's inputs make $tree_tag");
my $inst_tag = `'$dest$pkgdata/image/build' --runner '$dest$dir{libexecdir}/cmdarena/cmdarena-runner' --challenges '$dest$pkgdata/challenges' --state '$state' 2>&1`;
chomp $inst_tag;
is($inst_tag, $tree_tag, 'the installed inputs make the same image');

# ---- the systemd unit ----
my $unit = slurp("$dest$prefix/lib/systemd/system/cmdarena-fcgi.service");
like($unit, qr{^ExecStart=\Q$dir{sbindir}\E/cmdarena-fcgi -c \Q$dir{sysconfdir}\E/cmdarena/cmdarena\.conf$}m, 'ExecStart runs the installed pool with the installed config');
like($unit, qr{^ExecReload=/bin/kill -HUP \$MAINPID$}m, 'reload is SIGHUP');
like($unit, qr{^RuntimeDirectory=cmdarena$}m, 'its sockets go to /run/cmdarena');
unlike($unit, qr/@\w+@/, 'no placeholder left');
# systemd-analyze checks the executables exist: point it at the DESTDIR copies.
(my $here = $unit) =~ s{(^Exec\w+=)\Q$prefix\E/}{$1$dest$prefix/}mg;
open(my $uf, '>', "$dest/cmdarena-fcgi.service") or die $!;
print $uf $here;
close $uf;
my $verify = `systemd-analyze verify --man=no '$dest/cmdarena-fcgi.service' 2>&1`;
is($?, 0, 'systemd-analyze verify accepts the unit') or diag $verify;
my $security = `systemd-analyze security --offline=yes '$dest/cmdarena-fcgi.service' 2>&1`;
my ($exposure) = $security =~ /Overall exposure level for \S+: ([\d.]+)/;
ok(defined $exposure && $exposure <= 3.0, 'systemd-analyze security: exposure ' . ($exposure // '?') . ' (at most 3.0)')
    or diag $security;
unlink "$dest/cmdarena-fcgi.service";

# ---- reinstall keeps a changed config; uninstall takes back everything else ----
open(my $cf, '>>', "$dest$dir{sysconfdir}/cmdarena/cmdarena.conf") or die $!;
print $cf "workers = 6\n";
close $cf;
$out = `make -s -C '$build' install DESTDIR='$dest' 2>&1`;
is($?, 0, 'make install again');
like(slurp("$dest$dir{sysconfdir}/cmdarena/cmdarena.conf"), qr/^workers = 6$/m, 'the changed config was kept');
$out = `make -s -C '$build' uninstall DESTDIR='$dest' 2>&1`;
is($?, 0, 'make uninstall') or diag $out;
my @left = split /\n/, `cd '$dest' && find . -type f -o -type l`;
is_deeply(\@left, [".$dir{sysconfdir}/cmdarena/cmdarena.conf"], 'only the changed config is left') or diag join "\n", @left;

done_testing;
