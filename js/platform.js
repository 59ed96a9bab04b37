// What differs between hosts, set by the entry point before anything runs: how to start a server process
// (Node has child processes; browsers do not).
export const platform = { spawn: null };
