import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkRunId } from '../engine/run-dir.js';
import { listRuns, readResultFile, readRunEvents, runListing } from '../engine/run-record.js';
import {
  readTranscript,
  readTranscripts,
  type TranscriptLine,
  transcriptsPath,
} from '../engine/transcript.js';
import { writeTracePage } from '../flows/finish.js';
import { formatTokens, formatUsd, plural } from '../report/format.js';
import { findingsOf } from '../report/report.js';
import { agentsOf, phaseSummaries, type TraceAgent } from '../report/trace-data.js';
import { agentLine, agentName, formatMs, renderRunText, renderTranscriptText } from '../report/trace-text.js';
import { type CliIo, parseFlags, UsageError } from './options.js';
import { runsDirOf } from './runs.js';

/** RUN is a run id, or `last` for the newest run. */
function runIdOf(runsDir: string, given: string): string {
  if (given === 'last') {
    const newest = listRuns(runsDir)[0];
    if (!newest) throw new UsageError(`no runs in ${runsDir}`);
    return newest.runId;
  }
  try {
    return checkRunId(given);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** AGENT is a number (`5` or `#5`), a label, or a part of one label. */
export function findAgent(agents: readonly TraceAgent[], given: string): TraceAgent {
  const number = /^#?(\d+)$/.exec(given)?.[1];
  const byIndex = number !== undefined ? agents.find((a) => a.index === Number(number)) : undefined;
  if (byIndex) return byIndex;
  const exact = agents.filter((a) => a.label === given);
  if (exact.length === 1) return exact[0]!;
  const lower = given.toLowerCase();
  const partial = exact.length > 1 ? exact : agents.filter((a) => a.label?.toLowerCase().includes(lower));
  if (partial.length === 1) return partial[0]!;
  if (partial.length === 0) throw new UsageError(`no agent "${given}" in this run (dwf show RUN lists them)`);
  const names = partial.slice(0, 10).map(agentName);
  throw new UsageError(
    `"${given}" names ${plural(partial.length, 'agent')}: ${names.join(', ')}${partial.length > 10 ? ', …' : ''}; give its number`,
  );
}

function answerOf(lines: TranscriptLine[] | undefined): unknown {
  const end = lines?.find((l) => l.type === 'end');
  return end?.type === 'end' && end.status === 'completed' ? end.result : undefined;
}

/** `dwf show RUN [AGENT]`: a run's phases and agents, or one agent's transcript. */
export async function show(rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('show', rest, {
    'runs-dir': { type: 'string' },
    json: { type: 'boolean' },
    full: { type: 'boolean' },
    trace: { type: 'boolean' },
  });
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('show takes RUN (a run id, or last) and optionally AGENT (its number or label)');
  const runsDir = runsDirOf(io, values['runs-dir']);
  const runId = runIdOf(runsDir, positionals[0]!);
  const dir = join(runsDir, runId);
  if (!existsSync(dir)) throw new UsageError(`no run "${runId}" in ${runsDir} (dwf runs lists them)`);
  const folded = agentsOf(readRunEvents(dir));
  const shown = (path: string) => relative(io.cwd, path) || '.';
  if (positionals[1] !== undefined) {
    const agent = findAgent(folded.agents, positionals[1]);
    const lines = readTranscript(dir, agent.index);
    const first = lines?.[0];
    const original =
      first?.type === 'replayed' ? readTranscript(join(runsDir, first.from), agent.index) : undefined;
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify({ runId, agent, transcript: lines ?? null, original: original ?? null })}\n`,
      );
      return 0;
    }
    io.stdout.write(
      `${agentLine(agent, undefined).trim()}\n${agent.phase}${agent.model ? ` · ${agent.model}` : ''}\n`,
    );
    if (!lines) {
      io.stdout.write('no transcript: this agent never started\n');
      return 0;
    }
    io.stdout.write(`transcript: ${shown(transcriptsPath(dir))} (agent ${agent.index})\n\n`);
    io.stdout.write(renderTranscriptText(lines, { full: values.full === true }));
    if (original && first?.type === 'replayed') {
      io.stdout.write(`\nthe transcript of run ${first.from}:\n\n`);
      io.stdout.write(renderTranscriptText(original, { full: values.full === true }));
    }
    return 0;
  }
  const listing = runListing(runsDir, runId);
  if (values.trace) {
    // A killed run has no page: this writes it (or writes it again) from what the run recorded.
    const result = readResultFile(dir);
    const path = await writeTracePage(dir, {
      runId,
      name: listing.workflow,
      status: listing.status,
      ...(result?.error !== undefined ? { error: result.error } : {}),
      durationMs: listing.durationMs ?? 0,
    });
    io.stdout.write(`${shown(path)}\n`);
    return 0;
  }
  const phases = phaseSummaries(folded);
  const findings = findingsOf(readResultFile(dir)?.result);
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({ run: listing, phases, agents: folded.agents, oracles: folded.oracles, findings })}\n`,
    );
    return 0;
  }
  const trace = join(dir, 'trace.html');
  const header =
    `${listing.workflow} · run ${runId} · ${listing.status} · ${plural(listing.agents, 'agent')} · ` +
    `${formatTokens(listing.tokens)} tokens · ${formatUsd(listing.usd)} · ${formatMs(listing.durationMs)}` +
    (existsSync(trace) ? `\ntrace page: ${shown(trace)}` : '');
  const transcripts = readTranscripts(dir);
  io.stdout.write(
    renderRunText({
      header,
      phases,
      agents: folded.agents,
      answer: (index) => answerOf(transcripts.get(index)),
      findings,
    }),
  );
  return 0;
}
