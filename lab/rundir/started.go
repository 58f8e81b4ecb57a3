package rundir

// Started are the processes a lab's ups started, by node and name, with
// their pid and start time (JSON): a process that set its own title has
// lost its marker, and is known by them instead. The file is
// LAB.started.json; a lab name has no dot, so it is no other lab's record.
var Started = Kind{suffix: ".started.json", max: 1 << 20}
