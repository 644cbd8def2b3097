import type { RunDigest } from '../engine/events.js';
import type { Finding } from './report.js';

/** The status a finding claimed `fixed` gets when the run's own record does not bear the fix out. */
export const UNCONFIRMED_FIX = 'fix not confirmed';

export interface Reconciled {
  /** The findings, a `fixed` that does not hold changed to UNCONFIRMED_FIX (with why in its evidence). */
  findings: Finding[];
  /** Findings the script called fixed, and those of them the record bears out. */
  fixedClaimed: number;
  fixedCounted: number;
  /** Where the script's claims and the run's record disagree, one sentence each. */
  problems: string[];
}

/**
 * Holds what the script says against what the run did: a fix counts only when a change exists (in
 * the finding's file, when it names one) and the tests ran after the changes and passed.
 */
export function reconcile(
  findings: Finding[],
  changedFiles: readonly string[],
  oracles: RunDigest['oracles'],
): Reconciled {
  const claimed = findings.filter((f) => f.status === 'fixed');
  const changed = new Set(changedFiles);
  const testsAfter = oracles.count > 1 ? oracles.last : undefined;
  const problems: string[] = [];
  const n = (count: number) => `${count} finding${count === 1 ? ' is' : 's are'}`;
  if (claimed.length > 0 && changed.size === 0)
    problems.push(`${n(claimed.length)} marked fixed, but no file was changed.`);
  if (claimed.length > 0 && !testsAfter) {
    problems.push(
      `${n(claimed.length)} marked fixed, but the tests were not run after the changes: the fixes are unchecked.`,
    );
  } else if (claimed.length > 0 && testsAfter && !testsAfter.passed) {
    problems.push(`${n(claimed.length)} marked fixed, but the tests fail after the changes.`);
  }
  const why = (f: Finding): string | undefined => {
    if (changed.size === 0) return 'no file was changed';
    if (f.file && !changed.has(f.file)) return `${f.file} was not changed`;
    if (!testsAfter) return 'the tests were not run after the changes';
    if (!testsAfter.passed) return 'the tests fail after the changes';
    return undefined;
  };
  let counted = 0;
  let notInFile = 0;
  const out = findings.map((f) => {
    if (f.status !== 'fixed') return f;
    const reason = why(f);
    if (reason === undefined) {
      counted++;
      return f;
    }
    if (changed.size > 0 && f.file && !changed.has(f.file)) notInFile++;
    return {
      ...f,
      status: UNCONFIRMED_FIX,
      evidence: `${f.evidence ? `${f.evidence} ` : ''}(marked fixed, but ${reason})`,
    };
  });
  if (notInFile > 0) problems.push(`${n(notInFile)} marked fixed, but the file each names was not changed.`);
  return { findings: out, fixedClaimed: claimed.length, fixedCounted: counted, problems };
}
