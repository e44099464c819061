package Cmdarena::StockNginx;

# Checks cmdarena's two nginx parts the way a Debian host loads them: a scratch copy of the
# machine's stock /etc/nginx (Debian's nginx.conf, its default site, its modules), with the
# http-level part added as conf.d/cmdarena.conf and the server block as
# sites-available/cmdarena, enabled by a link in sites-enabled, then `nginx -t` on the copy.
#
#   my ($ok, $out) = Cmdarena::StockNginx::check(http => $file, site => $file, rewrite => { from => to });
#
# rewrite maps paths in our parts to others (e.g. into a DESTDIR) before the check.

use strict;
use warnings;
use Carp qw(croak);
use File::Temp qw(tempdir);

sub slurp {
    my ($path) = @_;
    open(my $fh, '<', $path) or croak "$path: $!";
    local $/;
    return scalar <$fh>;
}

sub spit {
    my ($path, $text) = @_;
    open(my $fh, '>', $path) or croak "$path: $!";
    print $fh $text;
    close $fh or croak "$path: $!";
}

sub check {
    my (%o) = @_;
    -f '/etc/nginx/nginx.conf' or croak 'no stock /etc/nginx/nginx.conf: install Debian\'s nginx';
    my $tmp = tempdir('cmdarena-stock-nginx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $etc = "$tmp/etc-nginx";
    system('cp', '-a', '/etc/nginx', $etc) == 0 or croak "cp -a /etc/nginx: $?";
    # The stock file, pointed at the copy; everything else in it as shipped.
    my $main = slurp("$etc/nginx.conf");
    $main =~ s{/etc/nginx/}{$etc/}g;
    spit("$etc/nginx.conf", $main);
    for my $part ([http => "conf.d/cmdarena.conf"], [site => "sites-available/cmdarena"]) {
        my $text = slurp($o{ $part->[0] } // croak "no $part->[0] part");
        for my $from (sort keys %{ $o{rewrite} // {} }) {
            $text =~ s/\Q$from\E/$o{rewrite}{$from}/g;
        }
        spit("$etc/$part->[1]", $text);
    }
    unlink "$etc/sites-enabled/cmdarena";
    symlink('../sites-available/cmdarena', "$etc/sites-enabled/cmdarena") or croak "symlink: $!";
    my $out = `nginx -t -c '$etc/nginx.conf' -e '$tmp/error.log' 2>&1`;
    return ($? == 0, $out, $etc);
}

1;
