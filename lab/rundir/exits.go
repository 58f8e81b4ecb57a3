package rundir

// Exits are the ends of a lab's declared processes that up saw, with
// their exit status (JSON): status and the plan say "exited with status 1
// at 12:03:04" from them. The file is LAB.exits.json; a lab name has no
// dot, so it is no other lab's record.
var Exits = Kind{suffix: ".exits.json", max: 1 << 20}
