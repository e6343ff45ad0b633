/**
 * "Staying up" (issue 4): the mqemitter stack overflow (moscajs/aedes #193, mcollina/mqemitter #204)
 * reproduced with aedes's own emitter, and survived with the emitter Rasid's broker uses. Each run is a
 * child process on loopback (a crash must not take the test runner with it), bounded to 20 s of burst
 * and 20,000 queued messages. See docs/broker.md, "Staying up".
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBroker, MemoryCredentialStore } from '../../src/broker/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Outcome {
  mode: string;
  outcome: 'crashed' | 'survived' | 'no-backlog';
  phase?: string;
  error?: string;
  deferrals: number;
  peak?: number;
  left?: number;
}

function runScenario(mode: 'bare' | 'guarded'): Promise<{ code: number | null; outcome: Outcome }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['bin/run-ts.mjs', 'test/broker/stress-scenario.ts', mode, '20000'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 55_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '{}';
      resolve({ code, outcome: JSON.parse(line) as Outcome });
    });
  });
}

describe('burst of publishers, stalled subscriber dropped at once', () => {
  it("crashes a broker on aedes's default emitter with RangeError (the upstream bug)", async () => {
    const { code, outcome } = await runScenario('bare');
    expect(outcome.outcome).toBe('crashed');
    expect(outcome.error).toMatch(/RangeError: Maximum call stack size exceeded/);
    expect(outcome.phase).toBe('after-drop');
    expect(code).toBe(3);
  }, 60_000);

  it("survives on Rasid's guarded emitter, drains the whole backlog and keeps acknowledging", async () => {
    const { code, outcome } = await runScenario('guarded');
    expect(outcome.outcome).toBe('survived');
    expect(outcome.peak).toBeGreaterThanOrEqual(20_000);
    expect(outcome.left).toBe(0);
    expect(outcome.deferrals).toBeGreaterThan(0);
    expect(code).toBe(0);
  }, 60_000);

  it('is the emitter every Rasid broker runs on', async () => {
    const broker = await createBroker({ credentials: new MemoryCredentialStore() });
    try {
      const mq = (broker.aedes as unknown as { mq: { _do: { name: string } } }).mq;
      expect(mq._do.name).toBe('guarded');
      expect(await broker.registry.getSingleMetricAsString('rasid_broker_emitter_deferrals_total')).toContain(
        'rasid_broker_emitter_deferrals_total 0',
      );
    } finally {
      await broker.close();
    }
  });
});
