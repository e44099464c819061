# checker.sh -- checks every module listed in modules.txt
# Working modules are reported on standard output,
# broken ones on standard error.
while read -r module status reason; do
	if [ "$status" = ok ]; then
		echo "module $module: ok"
	else
		echo "module $module: FAILED ($reason)" >&2
	fi
done < modules.txt
