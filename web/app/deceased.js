/**
 * Deceased account holders, for customer-service agents (docs/customer-service.md, "Deceased holders"): the
 * outreach worklist (held subsidies, nearest grace end first, stalled ones flagged), recording a death seen by
 * an agent, one outreach with the family's contacts, call attempts and their outcomes, the confirming SMS, the
 * transfer to an heir, and the outreach figures. The API does the work (/api/v1/deceased-accounts).
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { currentLang, dateTime, num, t } from './i18n.js';
import { Alert, Field, Screen, SimpleTable, Submit, useApi, useTask } from './ui.js';

const STAFF = ['operator', 'service'];
const OUTCOMES = ['reached', 'no_answer', 'busy', 'wrong_number', 'call_back', 'declined'];
const VIEWS = ['held', 'stalled', 'transferred', 'ended', 'noted'];
const day = (iso) => (iso ? iso.slice(0, 10) : '—');
const holderName = (h) => (currentLang() === 'ar' && h.nameAr ? h.nameAr : h.name);

function StatusBadge({ item }) {
  const kind = { held: 'warn', transferred: 'ok', ended: 'bad', noted: '' }[item.status];
  return html`<span class="flags">
    <span class=${`badge ${kind}`} data-testid="outreach-status">${t(`deceased.status.${item.status}`)}</span>
    ${item.stalled ? html`<span class="badge bad" data-testid="stalled">${t('deceased.stalled')}</span>` : null}
  </span>`;
}

function graceText(item) {
  if (item.graceDaysLeft === null || item.status !== 'held') return '—';
  return item.graceDaysLeft > 0
    ? t('deceased.daysLeft', { n: num(item.graceDaysLeft) })
    : t('deceased.graceOver');
}

function RecordDeath({ done }) {
  const [q, setQ] = useState('');
  const [people, setPeople] = useState(null);
  const [who, setWho] = useState(null);
  const [date, setDate] = useState('');
  const [evidence, setEvidence] = useState('');
  const [result, setResult] = useState(null);
  const task = useTask();
  const find = (e) => {
    e.preventDefault();
    task.run(() => api('GET', `/api/v1/customers?q=${encodeURIComponent(q.trim())}&limit=20`), {
      show: (r) => setPeople(r.customers),
    });
  };
  const record = (e) => {
    e.preventDefault();
    task.run(
      () =>
        api('POST', `/api/v1/customers/${who.id}/death`, {
          body: { dateOfDeath: date, evidenceRef: evidence.trim() },
        }),
      {
        show: (r) => {
          setResult(r);
          setWho(null);
          setPeople(null);
          done();
        },
      },
    );
  };
  return html`<details class="panel" data-testid="record-death">
    <summary>${t('deceased.record')}</summary>
    <p class="hint">${t('deceased.recordHint')}</p>
    <form onSubmit=${find} class="inline">
      <${Field} id="death-find" label=${t('deceased.findHolder')} value=${q} onInput=${(e) => setQ(e.currentTarget.value)} />
      <button type="submit" disabled=${task.busy}>${t('common.search')}</button>
    </form>
    ${
      people
        ? html`<ul class="choices">
            ${people.length === 0 ? html`<li>${t('cases.noCustomer')}</li>` : null}
            ${people.map(
              (
                p,
              ) => html`<li><label><input type="radio" name="death-who" checked=${who?.id === p.id} onChange=${() => setWho(p)} />
                <bdi>${p.name}</bdi> · <bdi dir="ltr">${p.phone ?? ''}</bdi></label></li>`,
            )}
          </ul>`
        : null
    }
    ${
      who
        ? html`<form onSubmit=${record}>
            <${Field} id="death-date" type="date" label=${t('deceased.dateOfDeath')} required value=${date} onInput=${(e) => setDate(e.currentTarget.value)} />
            <${Field} id="death-evidence" label=${t('deceased.evidence')} required maxlength="200" dir="ltr" value=${evidence} onInput=${(e) => setEvidence(e.currentTarget.value)} />
            <${Submit} busy=${task.busy}>${t('deceased.recordSubmit')}<//>
          </form>`
        : null
    }
    <${Alert}>${task.error}<//>
    <${Alert} kind="ok">${result ? t('deceased.recorded', { n: num(result.accounts.length), held: num(result.accounts.filter((a) => a.subsidised).length) }) : null}<//>
  </details>`;
}

function Worklist({ query, navigate }) {
  const view = VIEWS.includes(query.get('view')) ? query.get('view') : 'held';
  const path =
    view === 'stalled'
      ? '/api/v1/deceased-accounts?status=held&stalled=true'
      : `/api/v1/deceased-accounts?status=${view}`;
  const { data, error, reload } = useApi(`${path}&limit=200`);
  return html`<${Screen} name="deceased" title=${t('deceased.title')} wide>
    <p class="hint">${t('deceased.intro')}</p>
    <p><a href="/#/service/deceased/kpi" data-testid="deceased-kpi-link">${t('deceased.kpi')}</a></p>
    <${RecordDeath} done=${reload} />
    <nav class="tabs" aria-label=${t('cases.show')}>
      ${VIEWS.map(
        (v, i) =>
          html`${i > 0 ? ' · ' : ''}<a href=${`/#/service/deceased?view=${v}`} aria-current=${v === view ? 'page' : undefined} data-testid=${`view-${v}`}>${t(`deceased.view.${v}`)}</a>`,
      )}
    </nav>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
            caption=${t(`deceased.view.${view}`)}
            testid="deceased-worklist"
            rows=${data.items}
            empty=${t('deceased.none')}
            cols=${[
              [
                t('deceased.account'),
                (i) =>
                  html`<a href=${`/#/service/deceased/${i.id}`} onClick=${(e) => {
                    e.preventDefault();
                    navigate(`/service/deceased/${i.id}`);
                  }}><bdi dir="ltr">${num(i.account.number)}</bdi></a>`,
              ],
              [t('deceased.holder'), (i) => html`<bdi>${holderName(i.holder)}</bdi>`],
              [t('deceased.dateOfDeath'), (i) => html`<bdi dir="ltr">${num(i.dateOfDeath)}</bdi>`],
              [t('deceased.grace'), (i) => graceText(i)],
              [t('deceased.attempts'), (i) => num(i.attempts), 'n'],
              [t('deceased.lastAttempt'), (i) => (i.lastAttemptAt ? dateTime(i.lastAttemptAt) : '—')],
              [
                t('cases.number'),
                (i) =>
                  i.case
                    ? html`<a href=${`/#/service/cases/${i.case.id}`}><bdi dir="ltr">${i.case.number}</bdi></a>`
                    : '—',
              ],
              [t('cases.status'), (i) => html`<${StatusBadge} item=${i} />`],
            ]}
          />`
        : null
    }
  <//>`;
}

function Contacts({ o, reload }) {
  const [form, setForm] = useState({ name: '', relation: '', phone: '', language: 'ar' });
  const [sent, setSent] = useState(null);
  const task = useTask();
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.currentTarget.value }));
  const add = (e) => {
    e.preventDefault();
    task.run(
      () =>
        api('POST', `/api/v1/deceased-accounts/${o.id}/contacts`, {
          body: {
            name: form.name.trim(),
            relation: form.relation.trim() || null,
            phone: form.phone.trim() || null,
            language: form.language,
          },
        }),
      {
        show: () => {
          setForm({ name: '', relation: '', phone: '', language: 'ar' });
          reload();
        },
      },
    );
  };
  const sms = (c) =>
    task.run(
      () => api('POST', `/api/v1/deceased-accounts/${o.id}/confirmation-sms`, { body: { contactId: c.id } }),
      {
        show: () => setSent(c.name),
      },
    );
  return html`<section aria-labelledby="contacts-title">
    <h2 id="contacts-title">${t('deceased.contacts')}</h2>
    <${SimpleTable}
      caption=${t('deceased.contacts')}
      testid="contacts"
      rows=${o.contacts}
      empty=${t('deceased.noContacts')}
      cols=${[
        [t('deceased.contactName'), (c) => html`<bdi>${c.name}</bdi>`],
        [t('deceased.relation'), (c) => c.relation ?? '—'],
        [t('deceased.phone'), (c) => html`<bdi dir="ltr">${num(c.phone ?? '—')}</bdi>`],
        [t('deceased.language'), (c) => t(`deceased.lang.${c.language}`)],
        [
          '',
          (c) =>
            c.phone && o.status === 'held'
              ? html`<button type="button" disabled=${task.busy} onClick=${() => sms(c)} data-testid="send-sms">${t('deceased.sendSms')}</button>`
              : null,
        ],
      ]}
    />
    <${Alert} kind="ok">${sent ? t('deceased.smsSent', { name: sent }) : null}<//>
    ${
      o.status === 'held' || o.status === 'ended'
        ? html`<form onSubmit=${add} data-testid="add-contact">
            <h3>${t('deceased.addContact')}</h3>
            <${Field} id="contact-name" label=${t('deceased.contactName')} required maxlength="200" value=${form.name} onInput=${set('name')} />
            <${Field} id="contact-relation" label=${t('deceased.relation')} maxlength="60" value=${form.relation} onInput=${set('relation')} />
            <${Field} id="contact-phone" label=${t('deceased.phone')} dir="ltr" inputmode="tel" placeholder="+973…" value=${form.phone} onInput=${set('phone')} />
            <div class="field">
              <label for="contact-language">${t('deceased.language')}</label>
              <select id="contact-language" value=${form.language} onChange=${set('language')}>
                <option value="ar">${t('deceased.lang.ar')}</option>
                <option value="en">${t('deceased.lang.en')}</option>
              </select>
            </div>
            <${Submit} busy=${task.busy}>${t('deceased.addContact')}<//>
          </form>`
        : null
    }
    <${Alert}>${task.error}<//>
  </section>`;
}

function Attempts({ o, reload }) {
  // The first contact until the agent picks another (or the family as a whole: '').
  const [picked, setPicked] = useState(null);
  const contactId = picked ?? o.contacts[0]?.id ?? '';
  const [outcome, setOutcome] = useState('reached');
  const [note, setNote] = useState('');
  const task = useTask();
  const record = (e) => {
    e.preventDefault();
    task.run(
      () =>
        api('POST', `/api/v1/deceased-accounts/${o.id}/attempts`, {
          body: { contactId: contactId || null, outcome, note: note.trim() || null },
        }),
      {
        show: () => {
          setNote('');
          reload();
        },
      },
    );
  };
  return html`<section aria-labelledby="attempts-title">
    <h2 id="attempts-title">${t('deceased.calls')}</h2>
    <${SimpleTable}
      caption=${t('deceased.calls')}
      testid="attempts"
      rows=${o.history}
      empty=${t('deceased.noCalls')}
      cols=${[
        [t('deceased.when'), (h) => dateTime(h.at)],
        [t('deceased.contactName'), (h) => html`<bdi>${h.contactName ?? '—'}</bdi>`],
        [
          t('deceased.outcome'),
          (h) => html`<span data-testid="attempt-outcome">${t(`deceased.outcome.${h.outcome}`)}</span>`,
        ],
        [t('deceased.note'), (h) => html`<bdi>${h.note ?? ''}</bdi>`],
      ]}
    />
    ${
      o.status === 'held' || o.status === 'ended'
        ? html`<form onSubmit=${record} data-testid="record-attempt">
            <h3>${t('deceased.recordCall')}</h3>
            <div class="field">
              <label for="attempt-contact">${t('deceased.contactName')}</label>
              <select id="attempt-contact" value=${contactId} onChange=${(e) => setPicked(e.currentTarget.value)}>
                ${o.contacts.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
                <option value="">${t('deceased.family')}</option>
              </select>
            </div>
            <div class="field">
              <label for="attempt-outcome">${t('deceased.outcome')}</label>
              <select id="attempt-outcome" value=${outcome} onChange=${(e) => setOutcome(e.currentTarget.value)}>
                ${OUTCOMES.map((x) => html`<option value=${x}>${t(`deceased.outcome.${x}`)}</option>`)}
              </select>
            </div>
            <${Field} id="attempt-note" label=${t('deceased.note')} maxlength="2000" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} />
            <${Submit} busy=${task.busy}>${t('deceased.recordCall')}<//>
          </form>`
        : null
    }
    <${Alert}>${task.error}<//>
  </section>`;
}

function HeirTransfer({ o, reload }) {
  const [form, setForm] = useState({
    nationalId: '',
    name: '',
    nameAr: '',
    phone: '',
    language: 'ar',
    evidence: '',
  });
  const [done, setDone] = useState(null);
  const task = useTask();
  const set = (k) => (e) => setForm((f) => ({ ...f, [k]: e.currentTarget.value }));
  const submit = (e) => {
    e.preventDefault();
    task.run(
      () =>
        api('POST', `/api/v1/deceased-accounts/${o.id}/transfer`, {
          body: {
            heir: {
              nationalId: form.nationalId.trim(),
              name: form.name.trim(),
              nameAr: form.nameAr.trim() || null,
              phone: form.phone.trim() || null,
              language: form.language,
            },
            evidenceRef: form.evidence.trim(),
          },
        }),
      {
        show: (r) => {
          setDone(r);
          reload();
        },
      },
    );
  };
  if (o.status !== 'held' && o.status !== 'ended') return null;
  return html`<section aria-labelledby="heir-title">
    <h2 id="heir-title">${t('deceased.transfer')}</h2>
    <p class="hint">${t(o.status === 'held' ? 'deceased.transferHint' : 'deceased.transferAfterEnd')}</p>
    <form onSubmit=${submit} data-testid="heir-transfer">
      <${Field} id="heir-national-id" label=${t('deceased.heirNationalId')} required dir="ltr" maxlength="40" value=${form.nationalId} onInput=${set('nationalId')} />
      <${Field} id="heir-name" label=${t('deceased.heirName')} required maxlength="200" value=${form.name} onInput=${set('name')} />
      <${Field} id="heir-name-ar" label=${t('deceased.heirNameAr')} dir="rtl" maxlength="200" value=${form.nameAr} onInput=${set('nameAr')} />
      <${Field} id="heir-phone" label=${t('deceased.phone')} dir="ltr" inputmode="tel" value=${form.phone} onInput=${set('phone')} />
      <div class="field">
        <label for="heir-language">${t('deceased.language')}</label>
        <select id="heir-language" value=${form.language} onChange=${set('language')}>
          <option value="ar">${t('deceased.lang.ar')}</option>
          <option value="en">${t('deceased.lang.en')}</option>
        </select>
      </div>
      <${Field} id="heir-evidence" label=${t('deceased.heirEvidence')} required dir="ltr" maxlength="200" value=${form.evidence} onInput=${set('evidence')} />
      <${Submit} busy=${task.busy}>${t('deceased.transferSubmit')}<//>
    </form>
    <${Alert}>${task.error}<//>
    <${Alert} kind="ok">${done ? t(done.subsidyCarried ? 'deceased.transferredKept' : 'deceased.transferredNotKept') : null}<//>
  </section>`;
}

function Outreach({ params }) {
  const { data: o, error, reload } = useApi(`/api/v1/deceased-accounts/${params.id}`);
  return html`<${Screen} name="deceased-case" title=${o ? t('deceased.caseTitle', { number: o.account.number }) : t('deceased.title')} wide>
    <p><a href="/#/service/deceased">${t('deceased.back')}</a></p>
    <${Alert}>${error}<//>
    ${
      o
        ? html`<dl class="facts" data-testid="outreach-facts">
              <div><dt>${t('deceased.holder')}</dt><dd><bdi>${holderName(o.holder)}</bdi> · <bdi dir="ltr">${num(o.holder.nationalId ?? '')}</bdi></dd></div>
              <div><dt>${t('deceased.dateOfDeath')}</dt><dd><bdi dir="ltr">${num(o.dateOfDeath)}</bdi></dd></div>
              <div><dt>${t('deceased.evidence')}</dt><dd><bdi dir="ltr">${o.evidenceRef}</bdi> (${t(`deceased.source.${o.source}`)})</dd></div>
              <div><dt>${t('cases.status')}</dt><dd><${StatusBadge} item=${o} /></dd></div>
              <div><dt>${t('deceased.subsidy')}</dt><dd data-testid="subsidy">${t(o.account.subsidyEligible ? 'deceased.subsidyKept' : 'deceased.subsidyNone')}</dd></div>
              <div><dt>${t('deceased.graceEnds')}</dt><dd><bdi dir="ltr">${num(day(o.graceEndsAt))}</bdi> · ${graceText(o)}</dd></div>
              ${o.case ? html`<div><dt>${t('cases.number')}</dt><dd><a href=${`/#/service/cases/${o.case.id}`}><bdi dir="ltr">${o.case.number}</bdi></a></dd></div>` : null}
            </dl>
            <${Contacts} o=${o} reload=${reload} />
            <${Attempts} o=${o} reload=${reload} />
            <${HeirTransfer} o=${o} reload=${reload} />`
        : null
    }
  <//>`;
}

function OutreachKpi() {
  const { data, error } = useApi('/api/v1/deceased-accounts/kpi');
  const pct = (x) => (x === null ? '—' : `${num(x)}%`);
  const days = (x) => (x === null ? '—' : t('deceased.days', { n: num(x) }));
  const card = (value, key, testid) =>
    html`<li><div class="card"><span class="count" data-testid=${testid}>${value}</span><span class="label">${t(key)}</span></div></li>`;
  return html`<${Screen} name="deceased-kpi" title=${t('deceased.kpiTitle')} wide>
    <p><a href="/#/service/deceased">${t('deceased.back')}</a></p>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<ul class="cards">
            ${card(num(data.found), 'deceased.kpi.found', 'kpi-found')}
            ${card(num(data.contacted), 'deceased.kpi.contacted', 'kpi-contacted')}
            ${card(num(data.transferredWithSubsidy), 'deceased.kpi.transferredKept', 'kpi-transferred')}
            ${card(num(data.ended), 'deceased.kpi.ended', 'kpi-ended')}
            ${card(num(data.pending), 'deceased.kpi.pending', 'kpi-pending')}
            ${card(pct(data.updatedShare), 'deceased.kpi.updatedShare', 'kpi-share')}
            ${card(days(data.daysToTransfer.median), 'deceased.kpi.daysToTransfer', 'kpi-days')}
          </ul>
          <p class="hint" data-testid="kpi-summary">${data.found === 0 ? t('deceased.kpi.none') : t('deceased.kpi.summary', { share: pct(data.updatedShare), found: num(data.found) })}</p>`
        : null
    }
  <//>`;
}

export const DECEASED_ROUTES = [
  { pattern: /^\/service\/deceased$/, roles: STAFF, screen: Worklist },
  { pattern: /^\/service\/deceased\/kpi$/, roles: STAFF, screen: OutreachKpi },
  { pattern: /^\/service\/deceased\/(?<id>[0-9a-f-]{36})$/, roles: STAFF, screen: Outreach },
];
