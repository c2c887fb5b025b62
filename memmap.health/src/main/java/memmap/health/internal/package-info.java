package memmap.health.internal;
