// The deployment files (docker-compose.yml, Dockerfile, .env.example, deploy/) agree with Rasid's code:
// containers cannot run on the CI machines, so the files are read and checked against src/ instead.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from '../../src/config.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Every variable of src/config.ts's schema. */
const CONFIG_KEYS = new Set(Object.keys((ConfigSchema as unknown as { in: { shape: object } }).in.shape));
/** Variables of .env.example that only docker-compose.yml reads (not Rasid's settings). */
const COMPOSE_ONLY = new Set(['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']);

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  volumes?: string[];
  healthcheck?: unknown;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const rasidServices = Object.entries(services).filter(([, s]) => s.image === 'rasid:latest');

function envExample(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of read('.env.example').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

/** Metric names Rasid registers: `'rasid_…'` literals in the src/ files that use prom-client. */
function srcMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        // Names given to prom-client, directly or through a helper, in the files that use it.
        const text = readFileSync(path, 'utf8');
        if (!text.includes("from 'prom-client'")) continue;
        for (const m of text.matchAll(/'(rasid_[a-z0-9_]+)'/g)) names.add(m[1]!);
      }
    }
  };
  walk(join(ROOT, 'src'));
  return names;
}

/** `rasid_…` names a PromQL expression reads, with histogram suffixes taken off. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(rasid_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

describe('docker-compose.yml', () => {
  it('runs TimescaleDB, an MQTT broker, an API node, two worker nodes, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'grafana',
        'mosquitto',
        'prometheus',
        'rasid-api',
        'rasid-worker-1',
        'rasid-worker-2',
        'timescaledb',
      ].sort(),
    );
    expect(rasidServices.map(([name, s]) => [name, s.environment?.ROLES])).toEqual([
      ['rasid-api', 'api'],
      ['rasid-worker-1', 'workers'],
      ['rasid-worker-2', 'workers'],
    ]);
  });

  it('sets only variables of the config schema on Rasid nodes, and each worker its own client id', () => {
    for (const [name, service] of rasidServices) {
      const unknown = Object.keys(service.environment ?? {}).filter((key) => !CONFIG_KEYS.has(key));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
      expect(service.environment?.DATABASE_URL).toMatch(/@timescaledb:5432\//);
      expect(service.environment?.MQTT_URL).toBe('mqtt://mosquitto:1883');
    }
    const ids = rasidServices.map(([, s]) => s.environment?.MQTT_CLIENT_ID);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('names only services, volumes and files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      for (const dep of deps)
        expect({ name, dep, defined: dep in services }).toEqual({ name, dep, defined: true });
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./'))
          expect({ name, source, exists: existsSync(join(ROOT, source)) }).toEqual({
            name,
            source,
            exists: true,
          });
        else
          expect({ name, source, declared: source in compose.volumes }).toEqual({
            name,
            source,
            declared: true,
          });
      }
    }
    const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets.map((t) => t.split(':')[0]).sort()).toEqual(rasidServices.map(([name]) => name).sort());
    for (const file of prometheus.rule_files)
      expect(existsSync(join(ROOT, 'deploy/prometheus', file))).toBe(true);
  });

  it('reads only variables that .env.example gives', () => {
    const given = envExample();
    const used = [...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((v) => !given.has(v))).toEqual([]);
  });
});

describe('.env.example', () => {
  it('lists every variable of the config schema and nothing else but the compose passwords', () => {
    const given = envExample();
    expect([...CONFIG_KEYS].filter((key) => !given.has(key))).toEqual([]);
    expect([...given.keys()].filter((key) => !CONFIG_KEYS.has(key) && !COMPOSE_ONLY.has(key))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('runs as an unprivileged user with a health check on /healthz', () => {
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBe('node');
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });
  it('copies folders that exist and that .dockerignore does not drop', () => {
    const ignored = new Set(read('.dockerignore').split('\n').filter(Boolean));
    const copied = [...dockerfile.matchAll(/^COPY (?:--chown=\S+ )(?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(' '),
    );
    expect(copied).toContain('src');
    for (const path of copied) {
      expect({ path, exists: existsSync(join(ROOT, path)), ignored: ignored.has(path) }).toEqual({
        path,
        exists: true,
        ignored: false,
      });
    }
  });
});

describe('alert rules and dashboard', () => {
  const known = srcMetrics();
  it('read only metrics Rasid serves', () => {
    const rules = parse(read('deploy/prometheus/alerts.yml')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'RasidIngestRefusalsRising',
        'RasidPubackLatencyHigh',
        'RasidCommandsStuck',
        'RasidOutboxBacklog',
        'RasidBalanceEngineNotRunning',
        'RasidDatabaseDown',
      ]),
    );
    for (const alert of alerts) {
      const names = metricsIn(alert.expr);
      if (alert.alert !== 'RasidNodeDown') expect(names.length).toBeGreaterThan(0);
      for (const name of names)
        expect({ alert: alert.alert, name, served: known.has(name) }).toEqual({
          alert: alert.alert,
          name,
          served: true,
        });
    }
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/rasid.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(5);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const name of metricsIn(target.expr)) {
          expect({ panel: panel.title, name, served: known.has(name) }).toEqual({
            panel: panel.title,
            name,
            served: true,
          });
        }
      }
    }
    const provider = parse(read('deploy/grafana/provisioning/dashboards/rasid.yml')) as {
      providers: { options: { path: string } }[];
    };
    const grafana = services.grafana!;
    expect(grafana.volumes).toContain(
      `./deploy/grafana/dashboards:${provider.providers[0]!.options.path}:ro`,
    );
  });
});

describe('systemd units', () => {
  it('pass systemd-analyze verify for each role', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rasid-units-'));
    try {
      const template = read('deploy/systemd/rasid@.service');
      const units = ['api', 'workers', 'all'].map((role) => {
        const path = join(dir, `rasid@${role}.service`);
        writeFileSync(path, template);
        return path;
      });
      const migrate = join(dir, 'rasid-migrate.service');
      writeFileSync(migrate, read('deploy/systemd/rasid-migrate.service'));
      const { stdout, stderr } = await promisify(execFile)('systemd-analyze', ['verify', ...units, migrate]);
      // Only complaints about the host (no `rasid` user, no /opt/rasid here) are acceptable.
      const problems = `${stdout}${stderr}`
        .split('\n')
        .filter((l) => l.trim() !== '' && !/rasid|\/opt\/rasid|Failed to resolve user/.test(l));
      expect(problems).toEqual([]);
      expect(template).toMatch(/ExecStart=\/usr\/bin\/env ROLES=%i /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
