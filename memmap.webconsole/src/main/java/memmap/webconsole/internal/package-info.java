package memmap.webconsole.internal;
