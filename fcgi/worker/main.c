/*
 * main.c: cmdarena-fcgi, the FastCGI worker pool of cmdarena (cmdarena-fcgi(8)).
 */
#include "worker/master.h"

int main(int argc, char **argv)
{
	return master_main(argc, argv);
}
