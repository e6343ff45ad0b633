/**
 * Door-to-door campaigns (docs/field.md). The field agent's screen is made for a phone with a poor or no
 * connection: the assigned premises are kept on the phone, visits are recorded offline into the phone's
 * outbox (field-store.js) and sent when the connection returns, each under the id the phone gave it so that
 * nothing is lost or stored twice. The supervisor's screens open campaigns, assign areas to agents, follow
 * the KPIs by area and agent, list the meters found unregistered or missing, and apply or reject the changes
 * the visits propose.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import {
  flush,
  keptPremises,
  newVisitId,
  onOutboxChange,
  outbox,
  refreshPremises,
  retryVisit,
  saveVisit,
  shrinkPhoto,
  watchConnection,
} from './field-store.js';
import { html } from './html.js';
import { dateTime, num, problemText, t } from './i18n.js';
import { Alert, Field, Screen, SimpleTable, Submit, useApi, useTask } from './ui.js';

/** How often the agent's screen tries the outbox again while it is open, in milliseconds. */
const RETRY_MS = 20_000;
const PHONE = /^\+[1-9][0-9]{6,14}$/;
const READING = /^[0-9]{1,12}(\.[0-9]{1,3})?$/;

/** The app's files kept by the service worker so the screen opens without a connection. */
function registerServiceWorker() {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/field-sw.js').catch(() => {});
}

function useOnline() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);
  return online;
}

/** The field agent's work list: assigned premises, the outbox, and the visit form. */
export function FieldWork({ who }) {
  const online = useOnline();
  const [kept, setKept] = useState(null);
  const [queue, setQueue] = useState([]);
  const [open, setOpen] = useState(null);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const user = `${who.utility.code}/${who.name}`;

  const loadQueue = () => outbox().then(setQueue, () => {});
  const refresh = () =>
    refreshPremises(user).then(setKept, (err) => {
      if (!err.network) setError(problemText(err));
    });
  const send = () =>
    flush().then(
      () => (navigator.onLine ? refresh() : null),
      () => {},
    );

  useEffect(() => {
    registerServiceWorker();
    watchConnection();
    keptPremises(user).then((k) => k && setKept((now) => now ?? k));
    loadQueue();
    const off = onOutboxChange(loadQueue);
    if (navigator.onLine) send();
    const timer = setInterval(() => {
      if (navigator.onLine) send();
    }, RETRY_MS);
    window.addEventListener('online', send);
    return () => {
      off();
      clearInterval(timer);
      window.removeEventListener('online', send);
    };
  }, [user]);

  if (open) {
    return html`<${VisitForm}
      premise=${open}
      onCancel=${() => setOpen(null)}
      onSaved=${(outcome) => {
        setOpen(null);
        setNotice(
          t(navigator.onLine ? 'field.savedSending' : 'field.savedOffline', {
            outcome: t(`field.outcome.${outcome}`),
          }),
        );
        loadQueue();
        if (navigator.onLine) send();
      }}
    />`;
  }

  const waiting = queue.filter((q) => !q.refused);
  const refused = queue.filter((q) => q.refused);
  const waitingFor = new Set(queue.map((q) => `${q.body.campaignId}/${q.body.premiseId}`));
  const premises = kept?.premises ?? [];
  return html`<${Screen} name="field-work" title=${t('field.title')}>
    <p class=${online ? 'badge ok' : 'badge warn'} data-testid="field-connection" role="status">
      ${online ? t('field.online') : t('field.offline')}
    </p>
    <p data-testid="field-waiting">${t('field.waiting', { n: num(waiting.length) })}</p>
    ${waiting.length > 0 && online ? html`<button type="button" onClick=${send}>${t('field.sendNow')}</button>` : null}
    <${Alert} kind="ok">${notice}<//>
    <${Alert}>${error}<//>
    ${
      refused.length > 0
        ? html`<section aria-labelledby="field-refused-title">
            <h2 id="field-refused-title">${t('field.refused')}</h2>
            <ul class="plain">
              ${refused.map(
                (q) => html`<li data-testid="field-refused-visit">
                  <p>${premises.find((p) => p.premiseId === q.body.premiseId)?.address ?? q.body.premiseId}: ${q.refused}</p>
                  <button type="button" onClick=${() => retryVisit(q.id)}>${t('field.retry')}</button>
                  <button type="button" onClick=${() => retryVisit(q.id, true)}>${t('field.drop')}</button>
                </li>`,
              )}
            </ul>
          </section>`
        : null
    }
    ${kept ? html`<p class="hint">${t('field.keptAt', { at: dateTime(kept.fetchedAt) })}</p>` : null}
    ${
      kept === null
        ? html`<p>${online ? t('common.loading') : t('field.nothingKept')}</p>`
        : premises.length === 0
          ? html`<p>${t('field.noPremises')}</p>`
          : html`<ul class="plain field-premises" data-testid="field-premises">
              ${premises.map((p) => {
                const key = `${p.campaignId}/${p.premiseId}`;
                const state = waitingFor.has(key) ? 'waiting' : p.lastOutcome;
                return html`<li class="card" data-premise=${p.premiseId}>
                  <h2><bdi>${p.address}</bdi></h2>
                  <p class="hint">${p.area ?? t('field.noArea')} · ${p.campaignName}</p>
                  ${
                    p.account
                      ? html`<p>${t('field.onRecord')}: <bdi>${p.account.holderName}</bdi> · <bdi dir="ltr">${p.account.number}</bdi>${
                          p.account.phone ? html` · <bdi dir="ltr">${p.account.phone}</bdi>` : null
                        }</p>`
                      : html`<p>${t('field.noAccount')}</p>`
                  }
                  ${
                    p.meters.length > 0
                      ? html`<p>${t('field.metersOnRecord')}: ${p.meters.map((m) => html`<bdi dir="ltr">${m.serial}</bdi> `)}</p>`
                      : null
                  }
                  ${state ? html`<p class="badge" data-testid="field-premise-state">${t(`field.state.${state}`)}</p>` : null}
                  <button type="button" class="primary" onClick=${() => setOpen(p)}>${t('field.record')}</button>
                </li>`;
              })}
            </ul>`
    }
  <//>`;
}

/** One visit: outcome, people, premise, meter, photo and position; saved on the phone first, always. */
function VisitForm({ premise, onSaved, onCancel }) {
  const [outcome, setOutcome] = useState('visited');
  const [f, setF] = useState({
    occupantName: '',
    payerName: '',
    phone: '',
    nationalId: '',
    premiseUse: '',
    premiseNote: '',
    serial: '',
    reading: '',
    sealNumber: '',
  });
  const [sealIntact, setSealIntact] = useState(true);
  const [tamperSigns, setTamperSigns] = useState(false);
  const [photo, setPhoto] = useState(null);
  const [position, setPosition] = useState(null);
  const [positionState, setPositionState] = useState('asking');
  const [errors, setErrors] = useState({});
  const { busy, error, run } = useTask((err) =>
    err?.message === 'photo too large' ? t('field.photoTooLarge') : problemText(err),
  );

  const locate = () => {
    if (!('geolocation' in navigator)) return setPositionState('none');
    setPositionState('asking');
    navigator.geolocation.getCurrentPosition(
      (p) => {
        setPosition({
          latitude: p.coords.latitude,
          longitude: p.coords.longitude,
          accuracy: Math.round(p.coords.accuracy ?? 0),
        });
        setPositionState('got');
      },
      () => setPositionState('none'),
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
    );
  };
  useEffect(locate, []);

  const set = (key) => (e) => setF({ ...f, [key]: e.currentTarget.value });
  const text = (v) => (v.trim() ? v.trim() : undefined);

  async function pickPhoto(e) {
    const file = e.currentTarget.files?.[0];
    if (!file) return setPhoto(null);
    await run(async () => setPhoto(await shrinkPhoto(file)));
  }

  async function submit(e) {
    e.preventDefault();
    const problems = {};
    if (outcome === 'visited') {
      if (f.phone.trim() && !PHONE.test(f.phone.trim())) problems.phone = t('field.phoneHint');
      if (f.reading.trim() && !READING.test(f.reading.trim())) problems.reading = t('field.readingHint');
    }
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    const visited = outcome === 'visited';
    const meter = visited
      ? {
          serial: text(f.serial),
          reading: text(f.reading),
          sealNumber: text(f.sealNumber),
          sealIntact,
          tamperSigns,
        }
      : undefined;
    const body = {
      id: newVisitId(),
      campaignId: premise.campaignId,
      premiseId: premise.premiseId,
      outcome,
      visitedAt: new Date().toISOString(),
      ...(visited
        ? {
            occupantName: text(f.occupantName),
            payerName: text(f.payerName),
            phone: text(f.phone),
            nationalId: text(f.nationalId),
            premiseUse: f.premiseUse || undefined,
            premiseNote: text(f.premiseNote),
            meter,
            ...(photo ? { photo: { type: photo.type, data: photo.data } } : {}),
          }
        : {}),
      ...(position ? { position } : {}),
    };
    await run(() => saveVisit(JSON.parse(JSON.stringify(body))), { show: () => onSaved(outcome) });
  }

  return html`<${Screen} name="field-visit" title=${t('field.visitTitle')}>
    <p class="lead"><bdi>${premise.address}</bdi> · ${premise.area ?? t('field.noArea')}</p>
    ${premise.account ? html`<p class="hint">${t('field.onRecord')}: <bdi>${premise.account.holderName}</bdi></p>` : null}
    <form onSubmit=${submit} novalidate>
      <fieldset>
        <legend>${t('field.outcomeLabel')}</legend>
        ${['visited', 'nobody_home', 'refused'].map(
          (o) => html`<label class="check" for=${`outcome-${o}`}>
            <input type="radio" name="outcome" id=${`outcome-${o}`} value=${o} checked=${outcome === o} onChange=${() => setOutcome(o)} />
            ${t(`field.outcome.${o}`)}
          </label>`,
        )}
      </fieldset>
      ${
        outcome === 'visited'
          ? html`<fieldset>
              <legend>${t('field.people')}</legend>
              <${Field} id="occupant" label=${t('field.occupant')} value=${f.occupantName} onInput=${set('occupantName')} />
              <${Field} id="payer" label=${t('field.payer')} value=${f.payerName} onInput=${set('payerName')} />
              <${Field} id="phone" type="tel" dir="ltr" label=${t('field.phone')} hint=${t('field.phoneHint')} error=${errors.phone} value=${f.phone} onInput=${set('phone')} />
              <${Field} id="national-id" dir="ltr" label=${t('field.nationalId')} value=${f.nationalId} onInput=${set('nationalId')} />
            </fieldset>
            <fieldset>
              <legend>${t('field.premise')}</legend>
              <div class="field">
                <label for="premise-use">${t('field.premiseUse')}</label>
                <select id="premise-use" value=${f.premiseUse} onChange=${set('premiseUse')}>
                  <option value="">${t('field.premiseUse.unknown')}</option>
                  ${['residential', 'commercial', 'vacant', 'other'].map((u) => html`<option value=${u}>${t(`field.premiseUse.${u}`)}</option>`)}
                </select>
              </div>
              <${Field} id="premise-note" label=${t('field.premiseNote')} value=${f.premiseNote} onInput=${set('premiseNote')} />
            </fieldset>
            <fieldset>
              <legend>${t('field.meterSeen')}</legend>
              <${Field} id="meter-serial" dir="ltr" label=${t('field.serial')} value=${f.serial} onInput=${set('serial')} />
              <${Field} id="meter-reading" dir="ltr" inputmode="decimal" label=${t('field.reading')} error=${errors.reading} value=${f.reading} onInput=${set('reading')} />
              <${Field} id="seal-number" dir="ltr" label=${t('field.sealNumber')} value=${f.sealNumber} onInput=${set('sealNumber')} />
              <label class="check" for="seal-intact"><input type="checkbox" id="seal-intact" checked=${sealIntact} onChange=${(e) => setSealIntact(e.currentTarget.checked)} /> ${t('field.sealIntact')}</label>
              <label class="check" for="tamper-signs"><input type="checkbox" id="tamper-signs" checked=${tamperSigns} onChange=${(e) => setTamperSigns(e.currentTarget.checked)} /> ${t('field.tamperSigns')}</label>
              <div class="field">
                <label for="meter-photo">${t('field.photo')}</label>
                <input id="meter-photo" type="file" accept="image/*" capture="environment" onChange=${pickPhoto} />
                ${photo ? html`<p class="hint" data-testid="field-photo-size">${t('field.photoKept', { kb: num(Math.ceil(photo.bytes / 1024)) })}</p>` : null}
              </div>
            </fieldset>`
          : null
      }
      <p data-testid="field-position" role="status">
        ${positionState === 'got' ? t('field.positionGot', { m: num(position?.accuracy ?? 0) }) : positionState === 'asking' ? t('field.positionAsking') : t('field.positionNone')}
        ${positionState === 'none' ? html` <button type="button" onClick=${locate}>${t('field.positionRetry')}</button>` : null}
      </p>
      <${Alert}>${error}<//>
      <div class="actions">
        <${Submit} busy=${busy}>${t('field.save')}<//>
        <button type="button" onClick=${onCancel}>${t('common.cancel')}</button>
      </div>
    </form>
  <//>`;
}

// ---------------------------------------------------------------- supervisor

/** The supervisor's campaigns: open one over areas, and the list with progress. */
export function FieldCampaigns({ navigate }) {
  const { data, error, reload } = useApi('/api/v1/field/campaigns');
  const [name, setName] = useState('');
  const [areas, setAreas] = useState('');
  const task = useTask();
  async function create(e) {
    e.preventDefault();
    const list = areas
      .split(/[,،\n]/)
      .map((a) => a.trim())
      .filter(Boolean);
    await task.run(
      () => api('POST', '/api/v1/field/campaigns', { body: { name: name.trim(), areas: list } }),
      {
        show: (c) => navigate(`/field/campaigns/${c.id}`),
        leaves: true,
      },
    );
  }
  return html`<${Screen} name="field-campaigns" title=${t('field.campaigns')} wide>
    <form onSubmit=${create} novalidate class="inline-form">
      <${Field} id="campaign-name" label=${t('field.campaignName')} value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
      <${Field} id="campaign-areas" label=${t('field.areas')} hint=${t('field.areasHint')} value=${areas} onInput=${(e) => setAreas(e.currentTarget.value)} />
      <${Alert}>${task.error}<//>
      <${Submit} busy=${task.busy}>${t('field.open')}<//>
    </form>
    <${Alert}>${error}<//>
    ${
      data
        ? html`<${SimpleTable}
            caption=${t('field.campaigns')}
            testid="field-campaigns"
            rows=${data.campaigns}
            cols=${[
              [t('field.campaignName'), (c) => html`<a href=${`/#/field/campaigns/${c.id}`}>${c.name}</a>`],
              [t('field.status'), (c) => t(`field.campaignStatus.${c.status}`)],
              [t('field.kpi.premises'), (c) => num(c.premises), 'n'],
              [t('field.kpi.assigned'), (c) => num(c.assigned), 'n'],
              [t('field.kpi.visited'), (c) => num(c.visited), 'n'],
            ]}
          />
          <button type="button" onClick=${reload}>${t('common.show')}</button>`
        : html`<p>${t('common.loading')}</p>`
    }
  <//>`;
}

function KpiTable({ caption, rows, first, testid }) {
  return html`<${SimpleTable}
    caption=${caption}
    testid=${testid}
    rows=${rows}
    cols=${[
      first,
      [t('field.kpi.premises'), (k) => num(k.premises), 'n'],
      [t('field.kpi.visited'), (k) => num(k.visited), 'n'],
      [t('field.kpi.verified'), (k) => num(k.verified), 'n'],
      [t('field.kpi.nobodyHome'), (k) => num(k.nobodyHome), 'n'],
      [t('field.kpi.refused'), (k) => num(k.refused), 'n'],
      [t('field.kpi.corrected'), (k) => num(k.corrected), 'n'],
      [t('field.kpi.pending'), (k) => num(k.pending), 'n'],
      [t('field.kpi.unregistered'), (k) => num(k.unregisteredMeters), 'n'],
    ]}
  />`;
}

function describeChange(c) {
  return html`<bdi dir="auto">${c.current ?? '—'}</bdi> → <bdi dir="auto">${c.proposed ?? '—'}</bdi>`;
}

/** One campaign: assign areas to agents, KPIs, meters, and the changes waiting for review. */
export function FieldCampaign({ params }) {
  const id = params.id;
  const [n, setN] = useState(0);
  const kpis = useApi(`/api/v1/field/campaigns/${id}/kpis`, [n]);
  const meters = useApi(`/api/v1/field/campaigns/${id}/meters`, [n]);
  const changes = useApi(`/api/v1/field/changes?campaignId=${id}`, [n]);
  const staff = useApi('/api/v1/staff');
  const agents = (staff.data?.users ?? []).filter((u) => u.role === 'technician');
  const [agent, setAgent] = useState('');
  const [areas, setAreas] = useState('');
  const assign = useTask();
  const review = useTask();
  const [notice, setNotice] = useState(null);
  const reload = () => setN((x) => x + 1);

  async function submitAssign(e) {
    e.preventDefault();
    const list = areas
      .split(/[,،\n]/)
      .map((a) => a.trim())
      .filter(Boolean);
    await assign.run(
      () =>
        api('POST', `/api/v1/field/campaigns/${id}/assignments`, {
          body: { agentId: agent || agents[0]?.id, areas: list },
        }),
      {
        show: (r) => {
          setNotice(t('field.assigned', { n: num(r.assigned) }));
          reload();
        },
      },
    );
  }
  async function decide(change, verb) {
    await review.run(
      () => api('POST', `/api/v1/field/changes/${change.id}/${verb}`, verb === 'reject' ? { body: {} } : {}),
      {
        show: () => {
          setNotice(t(verb === 'apply' ? 'field.applied' : 'field.rejected'));
          reload();
        },
      },
    );
  }
  const pending = (changes.data?.changes ?? []).filter((c) => c.status === 'proposed');
  const done = (changes.data?.changes ?? []).filter((c) => c.status !== 'proposed');
  return html`<${Screen} name="field-campaign" title=${t('field.campaign')} wide>
    <p><a href="/#/field/campaigns">${t('field.campaigns')}</a></p>
    <${Alert} kind="ok">${notice}<//>
    <form onSubmit=${submitAssign} novalidate class="inline-form">
      <div class="field">
        <label for="assign-agent">${t('field.agent')}</label>
        <select id="assign-agent" value=${agent || agents[0]?.id || ''} onChange=${(e) => setAgent(e.currentTarget.value)}>
          ${agents.map((a) => html`<option value=${a.id}>${a.name}</option>`)}
        </select>
      </div>
      <${Field} id="assign-areas" label=${t('field.areas')} hint=${t('field.areasHint')} value=${areas} onInput=${(e) => setAreas(e.currentTarget.value)} />
      <${Alert}>${assign.error}<//>
      <${Submit} busy=${assign.busy}>${t('field.assign')}<//>
    </form>
    <${Alert}>${kpis.error ?? meters.error ?? changes.error ?? review.error}<//>
    ${
      kpis.data
        ? html`<${KpiTable} caption=${t('field.kpi.byArea')} testid="field-kpi-area" rows=${kpis.data.byArea} first=${[t('field.area'), (k) => k.area ?? t('field.noArea')]} />
          <${KpiTable} caption=${t('field.kpi.byAgent')} testid="field-kpi-agent" rows=${kpis.data.byAgent} first=${[t('field.agent'), (k) => k.agent ?? t('field.unassigned')]} />`
        : null
    }
    <section aria-labelledby="field-changes-title">
      <h2 id="field-changes-title">${t('field.changes')}</h2>
      ${pending.length === 0 ? html`<p>${t('field.noChanges')}</p>` : null}
      <ul class="plain" data-testid="field-changes">
        ${pending.map(
          (c) => html`<li class="card" data-change=${c.kind}>
            <p><strong>${t(`field.change.${c.kind}`)}</strong> · <bdi>${c.address}</bdi> · ${c.agent}</p>
            <p>${describeChange(c)}</p>
            <div class="actions">
              <button type="button" class="primary" disabled=${review.busy} onClick=${() => decide(c, 'apply')}>${t('field.apply')}</button>
              <button type="button" disabled=${review.busy} onClick=${() => decide(c, 'reject')}>${t('field.reject')}</button>
            </div>
          </li>`,
        )}
      </ul>
    </section>
    ${
      meters.data
        ? html`<${SimpleTable}
            caption=${t('field.unregistered')}
            testid="field-unregistered"
            rows=${meters.data.unregistered}
            cols=${[
              [t('field.serial'), (m) => html`<bdi dir="ltr">${m.serial}</bdi>`],
              [t('field.address'), (m) => m.address],
              [t('field.area'), (m) => m.area ?? t('field.noArea')],
              [t('field.agent'), (m) => m.agent],
            ]}
          />
          <${SimpleTable}
            caption=${t('field.notFound')}
            testid="field-not-found"
            rows=${meters.data.notFound}
            cols=${[
              [t('field.serial'), (m) => html`<bdi dir="ltr">${m.serial}</bdi>`],
              [t('field.address'), (m) => m.address],
              [t('field.area'), (m) => m.area ?? t('field.noArea')],
              [
                t('field.seenInstead'),
                (m) => (m.seenSerial ? html`<bdi dir="ltr">${m.seenSerial}</bdi>` : '—'),
              ],
            ]}
          />`
        : null
    }
    <${SimpleTable}
      caption=${t('field.reviewed')}
      testid="field-reviewed"
      rows=${done}
      cols=${[
        [t('field.changeKind'), (c) => t(`field.change.${c.kind}`)],
        [t('field.address'), (c) => c.address],
        [t('field.changeValues'), (c) => describeChange(c)],
        [t('field.status'), (c) => t(`field.changeStatus.${c.status}`)],
      ]}
    />
  <//>`;
}

export const FIELD_ROUTES = [
  { pattern: /^\/field$/, roles: ['technician'], screen: FieldWork },
  { pattern: /^\/field\/campaigns$/, roles: ['operator'], screen: FieldCampaigns },
  { pattern: /^\/field\/campaigns\/(?<id>[0-9a-f-]{36})$/, roles: ['operator'], screen: FieldCampaign },
];
