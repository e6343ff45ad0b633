/**
 * Customer service: a customer's messages and their delivery state (queued, sent, delivered, failed), and
 * the channels the customer accepts, in their order, with the opt-out (docs/notifications.md). Opened from
 * a case's customer; the API is /api/v1/customers/{id}/notifications and …/notification-preferences.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { dateTime, num, t } from './i18n.js';
import { Alert, Screen, Submit, useApi, useTask } from './ui.js';

const CHANNELS = ['sms', 'whatsapp', 'email'];

function Preferences({ customerId }) {
  const { data, error } = useApi(`/api/v1/customers/${customerId}/notification-preferences`);
  const [order, setOrder] = useState([]);
  const [accepted, setAccepted] = useState(new Set());
  const [optOut, setOptOut] = useState(false);
  const [saved, setSaved] = useState(false);
  const { busy, error: saveError, run } = useTask();

  useEffect(() => {
    if (!data) return;
    setOrder([...data.channels, ...CHANNELS.filter((c) => !data.channels.includes(c))]);
    setAccepted(new Set(data.channels));
    setOptOut(data.optOut);
  }, [data]);

  const toggle = (c) => {
    const next = new Set(accepted);
    if (next.has(c)) next.delete(c);
    else next.add(c);
    setAccepted(next);
    setSaved(false);
  };
  const up = (i) => {
    if (i === 0) return;
    const next = [...order];
    [next[i - 1], next[i]] = [next[i], next[i - 1]];
    setOrder(next);
    setSaved(false);
  };
  async function save(e) {
    e.preventDefault();
    await run(
      () =>
        api('PUT', `/api/v1/customers/${customerId}/notification-preferences`, {
          body: { channels: order.filter((c) => accepted.has(c)), optOut },
        }),
      { show: () => setSaved(true) },
    );
  }

  return html`<section aria-labelledby="prefs-title">
    <h2 id="prefs-title">${t('messages.preferences')}</h2>
    <${Alert}>${error ?? saveError}<//>
    ${
      data
        ? html`<form onSubmit=${save} data-testid="message-preferences">
            <p class="hint">${t('messages.orderHint')}</p>
            <ol class="channel-order">
              ${order.map(
                (c, i) => html`<li key=${c}>
                  <label class="check" for=${`accept-${c}`}>
                    <input type="checkbox" id=${`accept-${c}`} checked=${accepted.has(c)} onChange=${() => toggle(c)} data-testid=${`accept-${c}`} />
                    ${t(`messages.channel.${c}`)}
                  </label>
                  ${i > 0 ? html`<button type="button" onClick=${() => up(i)} aria-label=${t('messages.moveUp', { channel: t(`messages.channel.${c}`) })} data-testid=${`up-${c}`}>↑</button>` : null}
                </li>`,
              )}
            </ol>
            <label class="check" for="opt-out">
              <input type="checkbox" id="opt-out" checked=${optOut} onChange=${(e) => {
                setOptOut(e.currentTarget.checked);
                setSaved(false);
              }} data-testid="opt-out" />
              ${t('messages.optOut')}
            </label>
            <p><${Submit} busy=${busy}>${t('messages.save')}<//></p>
            ${saved ? html`<p role="status" data-testid="prefs-saved">${t('messages.saved')}</p>` : null}
          </form>`
        : null
    }
  </section>`;
}

function CustomerMessages({ who, params }) {
  const customer = useApi(`/api/v1/customers/${params.id}`);
  const { data, error, reload } = useApi(`/api/v1/customers/${params.id}/notifications?limit=50`);
  const name = customer.data?.name;
  return html`<${Screen} name="customer-messages" title=${name ? t('messages.titleOf', { name: `\u2068${name}\u2069` }) : t('messages.title')} wide>
    <${Preferences} customerId=${params.id} />
    <section aria-labelledby="sent-title">
      <h2 id="sent-title">${t('messages.sent')}</h2>
      <${Alert}>${error ?? customer.error}<//>
      <p><button type="button" onClick=${reload}>${t('messages.refresh')}</button></p>
      ${
        data && data.items.length === 0
          ? html`<p>${t('messages.none')}</p>`
          : data
            ? html`<div class="table-scroll"><table data-testid="messages">
                <thead>
                  <tr>
                    <th scope="col">${t('messages.when')}</th>
                    <th scope="col">${t('messages.channelCol')}</th>
                    <th scope="col">${t('messages.message')}</th>
                    <th scope="col">${t('messages.state')}</th>
                    <th scope="col">${t('messages.attempts')}</th>
                  </tr>
                </thead>
                <tbody>
                  ${data.items.map(
                    (m) => html`<tr key=${m.id}>
                      <td>${dateTime(m.deliveredAt ?? m.sentAt ?? m.createdAt, who.utility.timezone)}</td>
                      <td>${t(`messages.channel.${m.channel}`)} <bdi dir="ltr">${m.recipient}</bdi></td>
                      <td>${t(`messages.template.${m.template}`)} (${m.language === 'ar' ? 'العربية' : 'English'})</td>
                      <td data-testid="message-state"><span class=${`badge ${m.state === 'failed' ? 'bad' : m.state === 'delivered' ? 'ok' : 'warn'}`}>${t(`messages.state.${m.state}`)}</span>
                        ${m.state === 'failed' && m.lastError ? html`<br /><small><bdi dir="ltr">${m.lastError}</bdi></small>` : null}</td>
                      <td>${num(String(m.attempts))}</td>
                    </tr>`,
                  )}
                </tbody>
              </table></div>`
            : null
      }
    </section>
  <//>`;
}

export const MESSAGE_ROUTES = [
  {
    pattern: /^\/service\/customers\/(?<id>[0-9a-f-]{36})\/messages$/,
    roles: ['operator', 'service'],
    screen: CustomerMessages,
  },
];
