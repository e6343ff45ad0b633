/**
 * The operator's import and export screen: load customers, accounts or meters from a CSV or Excel file (with
 * a template to download, a dry run first, all or nothing if wanted) and read the report row by row; export
 * customers, accounts, meters and the ledger of a period as CSV. The API does the work (docs/import.md).
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { num, t } from './i18n.js';
import { Alert, Screen, SimpleTable, Submit, saveBlob, useTask } from './ui.js';

const KINDS = ['customers', 'accounts', 'meters'];
/** What can be imported: the three above, and the civil registry's deaths (docs/customer-service.md). */
const IMPORT_KINDS = [...KINDS, 'deaths'];
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function dayIn(timeZone, days = 0) {
  const d = new Date(Date.now() + days * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(d);
}

function Report({ report }) {
  const summary = t(report.dryRun ? 'import.summaryDry' : 'import.summary', {
    rows: num(report.rows),
    added: num(report.added),
    skipped: num(report.skipped.length),
    errors: num(report.errors.length),
  });
  const nothing = report.allOrNothing && !report.dryRun && report.errors.length > 0;
  return html`<section class="import-report" aria-live="polite" data-testid="import-report">
    <${Alert} kind=${report.errors.length ? 'warn' : 'ok'}>
      ${summary}${nothing ? html` ${t('import.nothingWritten')}` : null}
    <//>
    ${
      report.ignoredColumns.length
        ? html`<p class="hint">${t('import.ignored')} <bdi dir="ltr">${report.ignoredColumns.join(', ')}</bdi></p>`
        : null
    }
    ${
      report.errors.length
        ? html`<${SimpleTable}
            caption=${t('import.problems')}
            testid="import-errors"
            rows=${report.errors}
            cols=${[
              [t('import.row'), (e) => num(e.row), 'n'],
              [t('import.column'), (e) => html`<bdi dir="ltr">${e.column}</bdi>`],
              [t('import.reason'), (e) => html`<bdi dir="ltr">${e.reason}</bdi>`],
            ]}
          />`
        : null
    }
    ${
      report.skipped.length
        ? html`<details>
            <summary>${t('import.skippedList', { n: num(report.skipped.length) })}</summary>
            <${SimpleTable}
              caption=${t('import.skippedCaption')}
              testid="import-skipped"
              rows=${report.skipped}
              cols=${[
                [t('import.row'), (s) => num(s.row), 'n'],
                [t('import.key'), (s) => html`<bdi dir="ltr">${s.key}</bdi>`],
              ]}
            />
          </details>`
        : null
    }
  </section>`;
}

function ImportForm() {
  const [kind, setKind] = useState('customers');
  const [file, setFile] = useState(null);
  const [dryRun, setDryRun] = useState(true);
  const [allOrNothing, setAllOrNothing] = useState(false);
  const [report, setReport] = useState(null);
  const { busy, error, run } = useTask();
  const download = useTask();

  function upload(e) {
    e.preventDefault();
    if (!file) return;
    setReport(null);
    const q = new URLSearchParams({
      dryRun: String(dryRun),
      allOrNothing: String(allOrNothing),
      filename: file.name.slice(0, 200),
    });
    const typed = /\.xlsx$/i.test(file.name)
      ? new Blob([file], { type: XLSX })
      : new Blob([file], { type: 'text/csv' });
    run(() => api('POST', `/api/v1/imports/${kind}?${q}`, { file: typed }), { show: setReport });
  }

  function template(format) {
    download.run(async () => {
      const blob = await api('GET', `/api/v1/imports/${kind}/template?format=${format}`, { as: 'blob' });
      saveBlob(blob, `rasid-${kind}-template.${format}`);
    });
  }

  return html`<section aria-labelledby="import-title">
    <h2 id="import-title">${t('import.load')}</h2>
    <p class="hint">${t('import.order')}</p>
    <form class="import-form" onSubmit=${upload} novalidate>
      <div class="field">
        <label for="import-kind">${t('import.kind')}</label>
        <select id="import-kind" value=${kind} onChange=${(e) => {
          setKind(e.currentTarget.value);
          setReport(null);
        }}>
          ${IMPORT_KINDS.map((k) => html`<option value=${k}>${t(`import.kind.${k}`)}</option>`)}
        </select>
      </div>
      <div class="actions">
        <button type="button" class="link" onClick=${() => template('csv')}>${t('import.templateCsv')}</button>
        <button type="button" class="link" onClick=${() => template('xlsx')}>${t('import.templateXlsx')}</button>
      </div>
      <${Alert}>${download.error}<//>
      <div class="field">
        <label for="import-file">${t('import.file')}</label>
        <p class="hint" id="import-file-hint">${t('import.fileHint')}</p>
        <input
          id="import-file"
          type="file"
          accept=".csv,text/csv,.xlsx,${XLSX}"
          aria-describedby="import-file-hint"
          onChange=${(e) => {
            setFile(e.currentTarget.files?.[0] ?? null);
            setReport(null);
          }}
        />
      </div>
      <label class="check" for="import-dry">
        <input type="checkbox" id="import-dry" checked=${dryRun} onChange=${(e) => setDryRun(e.currentTarget.checked)} />
        <span>${t('import.dryRun')}</span>
      </label>
      <label class="check" for="import-all">
        <input
          type="checkbox"
          id="import-all"
          checked=${allOrNothing}
          onChange=${(e) => setAllOrNothing(e.currentTarget.checked)}
        />
        <span>${t('import.allOrNothing')}</span>
      </label>
      <div class="actions">
        <${Submit} busy=${busy} disabled=${!file}>${dryRun ? t('import.check') : t('import.run')}<//>
      </div>
    </form>
    <${Alert}>${error}<//>
    ${report ? html`<${Report} report=${report} />` : null}
  </section>`;
}

function ExportForm({ who }) {
  const zone = who.utility?.timezone ?? 'UTC';
  const [from, setFrom] = useState(dayIn(zone, -30));
  const [to, setTo] = useState(dayIn(zone, 1));
  const { busy, error, run } = useTask();

  function save(kind, query = '', name = `rasid-${kind}.csv`) {
    run(async () => {
      const blob = await api('GET', `/api/v1/exports/${kind}${query}`, { as: 'blob' });
      saveBlob(blob, name);
    });
  }

  return html`<section aria-labelledby="export-title">
    <h2 id="export-title">${t('export.title')}</h2>
    <div class="actions">
      ${KINDS.map(
        (k) =>
          html`<button type="button" disabled=${busy} onClick=${() => save(k)}>${t(`export.${k}`)}</button>`,
      )}
    </div>
    <form
      class="period"
      onSubmit=${(e) => {
        e.preventDefault();
        save('ledger', `?from=${from}&to=${to}`, `rasid-ledger-${from}-${to}.csv`);
      }}
    >
      <div class="field">
        <label for="ledger-from">${t('common.from')}</label>
        <input id="ledger-from" type="date" dir="ltr" value=${from} onInput=${(e) => setFrom(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="ledger-to">${t('export.before')}</label>
        <input id="ledger-to" type="date" dir="ltr" value=${to} onInput=${(e) => setTo(e.currentTarget.value)} />
      </div>
      <${Submit} busy=${busy}>${t('export.ledger')}<//>
    </form>
    <p class="hint">${t('export.zone', { zone })}</p>
    <${Alert}>${error}<//>
  </section>`;
}

function ImportExport({ who }) {
  return html`<${Screen} name="import" title=${t('import.title')} wide>
    <${ImportForm} />
    <${ExportForm} who=${who} />
  <//>`;
}

export const IMPORT_ROUTES = [{ pattern: /^\/ops\/import$/, roles: ['operator'], screen: ImportExport }];
