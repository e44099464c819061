/*
 * master.h: cmdarena-fcgi's master process (see master.c).
 */
#ifndef CMDARENA_MASTER_H
#define CMDARENA_MASTER_H

int master_main(int argc, char **argv);

#endif
