echo running 2.4.1
