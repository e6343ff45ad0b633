/**
 * A local stand-in for the WhatsApp Business Cloud API, answering as Meta's public documentation
 * describes (the real service cannot be reached from a test): `POST /{version}/{phone-number-id}/messages`
 * with a Bearer token and a template message answers `{ messaging_product, contacts, messages: [{ id }] }`,
 * a wrong token 401 with an OAuthException (code 190), an unknown template 400 (code 132001). After an
 * accepted message it posts the status webhooks `sent` then `delivered` to the configured address, signed
 * with the app secret in `X-Hub-Signature-256`. `failNext` answers one message with a documented error
 * (a rate limit, code 130429).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CloudMessage {
  readonly phoneNumberId: string;
  readonly to: string;
  readonly template: string;
  readonly language: string;
  readonly parameters: string[];
  readonly id: string;
}

export interface WhatsAppCloud {
  readonly apiBase: string;
  readonly messages: CloudMessage[];
  /** Where status webhooks go (Rasid's /api/v1/notify/whatsapp/webhook); none until set. */
  webhookUrl: string | null;
  /** Answer the next message with this error (e.g. 400 with code 130429, the throughput limit). */
  failNext: { status: number; code: number; message: string } | null;
  /** Webhook answers Rasid gave, by status. */
  readonly webhookAnswers: { status: string; code: number }[];
  close(): Promise<void>;
}

export async function startWhatsAppCloud(opts: {
  accessToken: string;
  appSecret: string;
  phoneNumberId: string;
  templates: readonly string[];
}): Promise<WhatsAppCloud> {
  const cloud: WhatsAppCloud = {
    apiBase: '',
    messages: [],
    webhookUrl: null,
    failNext: null,
    webhookAnswers: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const error = (code: number, message: string, type = 'OAuthException') => ({
    error: { message, type, code, fbtrace_id: randomBytes(6).toString('hex') },
  });

  async function postStatus(message: CloudMessage, status: 'sent' | 'delivered'): Promise<void> {
    if (cloud.webhookUrl === null) return;
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '96890000000', phone_number_id: message.phoneNumberId },
                statuses: [
                  {
                    id: message.id,
                    status,
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    recipient_id: message.to,
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const signature = `sha256=${createHmac('sha256', opts.appSecret).update(body).digest('hex')}`;
    const res = await fetch(cloud.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
      body,
    });
    await res.body?.cancel();
    cloud.webhookAnswers.push({ status, code: res.status });
  }

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      raw += d;
    });
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const match = /^\/v\d+\.\d+\/(\d+)\/messages$/.exec(req.url ?? '');
      if (req.method !== 'POST' || match === null)
        return send(404, error(100, 'Unsupported request', 'GraphMethodException'));
      if (req.headers.authorization !== `Bearer ${opts.accessToken}`) {
        return send(401, error(190, 'Invalid OAuth access token - Cannot parse access token'));
      }
      let body: {
        messaging_product?: string;
        to?: string;
        type?: string;
        template?: {
          name?: string;
          language?: { code?: string };
          components?: { type?: string; parameters?: { type?: string; text?: string }[] }[];
        };
      };
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, error(100, 'Invalid parameter'));
      }
      if (match[1] !== opts.phoneNumberId) return send(400, error(100, 'Invalid parameter'));
      if (
        body.messaging_product !== 'whatsapp' ||
        body.type !== 'template' ||
        !/^\d{7,15}$/.test(body.to ?? '')
      ) {
        return send(400, error(100, 'Invalid parameter'));
      }
      if (cloud.failNext !== null) {
        const { status, code, message } = cloud.failNext;
        cloud.failNext = null;
        return send(status, error(code, message));
      }
      const name = body.template?.name ?? '';
      const language = body.template?.language?.code ?? '';
      if (!opts.templates.includes(name) || !['ar', 'en', 'en_US'].includes(language)) {
        return send(400, error(132001, `(#132001) Template name does not exist in the translation`));
      }
      const bodyComponent = body.template?.components?.find((c) => c.type === 'body');
      const parameters = (bodyComponent?.parameters ?? []).map((p) =>
        p.type === 'text' ? (p.text ?? '') : '',
      );
      const id = `wamid.${randomBytes(18).toString('base64url')}`;
      const message: CloudMessage = {
        phoneNumberId: match[1],
        to: body.to!,
        template: name,
        language,
        parameters,
        id,
      };
      cloud.messages.push(message);
      send(200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: body.to, wa_id: body.to }],
        messages: [{ id }],
      });
      void postStatus(message, 'sent')
        .then(() => postStatus(message, 'delivered'))
        .catch(() => {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (cloud as { apiBase: string }).apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v23.0`;
  return cloud;
}
