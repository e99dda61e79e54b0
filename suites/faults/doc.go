// Package faults is the fault-injection suite: while curated cases run on a
// netns cluster with the reference enforcer, it breaks the cluster at a
// defined point of each case (through the runner's round hook) and checks
// that the harness never passes what it must not. Run it as root with
// `go test -v ./suites/faults/`; it ends with a table, one row per fault.
//
// Every fault runs the same five cases (TCP, UDP and SCTP; ingress and
// egress), each on a fresh cluster, so no damage outlives its case. A
// case's target comes from the model: its first step's actions applied to
// its state give a truth table, whose first cell that must be denied
// (preferably across nodes) names the source, the destination and the
// nodes whose enforcer denies it (the destination's for ingress, the
// source's for egress). Per fault, what is injected, what the harness must
// report, and what a "false pass" is:
//
//   - kill a probe server: KillAgent on the destination after round 1 of
//     step 0. Must report an infrastructure error; a pass is a false pass.
//   - delete a pod's route: DeletePodRoute on the destination after round 1
//     of step 0. Must report an infrastructure error (unproven cells); a
//     pass is a false pass.
//   - break an agent's control socket: BreakControlSocket on the source
//     after round 1 of step 0. Must report an infrastructure error; a pass
//     is a false pass.
//   - restart the enforcer: StopEnforcer on the denying nodes after the last
//     reset round (before step 0's actions), StartEnforcer 300 ms later.
//     There is no false pass: the case should pass, with leaks reported
//     before convergence. A case that does not pass is a "false fail",
//     counted apart and not fatal. A pass whose leaks ended less than
//     150 ms after the stop means the stop had no effect.
//   - flush the enforcer's chains: FlushEnforcerChains on the denying nodes
//     once step 0 is stable (resync period 1 s, 60 settle rounds, a 10 s
//     deadline so a case that sees no leak can pass). The suite's own probe
//     must see the target cell connect right after the flush (else it
//     flushes again at the next round, up to five times); the harness must
//     report leaks after convergence, a failure. A pass after a flush the
//     suite saw open the cell is a false pass. The leak window runs from the
//     first round that reported the leak to the first round of the suite's
//     own probes of every denied cell with no leak (the runner ends the
//     step at the first leak after convergence), in wall time.
//   - stop the API watch: PauseWatches after the last reset round, so step
//     0's policies never reach an enforcer (ResumeWatches after the case,
//     whose cluster is discarded rather than healed). Must report a
//     failure, not an infrastructure error; a pass is a false pass.
//
// The suite fails when a fault has a false pass, ran no case, or did not
// inject in some case: the hook never fired, the injection returned an
// error, or it had no effect where the suite can tell.
package faults
