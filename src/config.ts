import { z } from 'zod';

/** The parts of Rasid one process can run (ROLES). */
export type ProcessRole = 'api' | 'broker' | 'workers';

const KEY_HEX = /^[0-9a-fA-F]{64}$/;

/** A 32-byte key given as 64 hex digits or base64; undefined when unset. */
const key32 = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    const bytes = KEY_HEX.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
    if (bytes.length !== 32) {
      ctx.addIssue({ code: 'custom', message: 'must be 32 bytes: 64 hex digits or base64' });
      return z.NEVER;
    }
    return bytes;
  });

/**
 * Every setting Rasid reads, parsed once at the edge (docs/style.md practice 11). The source is usually
 * `process.env`; tests pass plain objects. Each variable is documented in README.md ("Configuration").
 */
export const ConfigSchema = z
  .object({
    /** Interface the HTTP server binds to. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** HTTP port of the API and web app; 0 picks a free port. */
    PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    /** The address customers' browsers reach Rasid at (payment return links); default http://HOST:PORT. */
    PUBLIC_URL: z.url().optional(),
    /** pino log level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Folder for embedded data (the PGlite database, the development master key, simulator state). */
    DATA_DIR: z.string().min(1).default('.data'),
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** PostgreSQL connection string; unset = embedded PGlite in DATA_DIR. */
    DATABASE_URL: z.string().min(1).optional(),
    /**
     * Embedded store only: PGlite's shared buffers in MB. They are allocated in the process's memory, so a
     * small machine keeps them small; the operating system's file cache holds the rest of the store.
     */
    PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(8).max(4096).default(32),
    /** Connections in the PostgreSQL pool. */
    DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(16),
    /** Master key (32 bytes, hex or base64) encrypting vending keys at rest. Required in production. */
    VENDING_MASTER_KEY: key32,
    /** Minutes after a vend during which an unused token may be reversed. */
    REVERSAL_WINDOW_MINUTES: z.coerce
      .number()
      .int()
      .min(0)
      .max(60 * 24 * 31)
      .default(24 * 60),
    /** Hours a person's session lasts. */
    SESSION_TTL_HOURS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(12),
    /** Stripe secret API key; unset = online payments use the local Stripe-compatible server (development). */
    STRIPE_SECRET_KEY: z.string().min(1).optional(),
    /** Stripe webhook signing secret (whsec_…). */
    STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
    /** Stripe API base URL; only for a Stripe-compatible test server. */
    STRIPE_API_BASE: z.url().optional(),
    /** Thawani Pay secret key (header thawani-api-key); set to offer Thawani (docs/payments.md). */
    THAWANI_SECRET_KEY: z.string().min(1).optional(),
    /** Thawani Pay publishable key (in the payment page address). */
    THAWANI_PUBLISHABLE_KEY: z.string().min(1).optional(),
    /** The webhook secret set in Thawani's merchant portal. */
    THAWANI_WEBHOOK_SECRET: z.string().min(16).optional(),
    /** https://checkout.thawani.om in production, https://uatcheckout.thawani.om for UAT. */
    THAWANI_API_BASE: z.url().default('https://checkout.thawani.om'),
    /** A bank's hosted payment page (generic protocol, docs/payments.md): its address. */
    HPP_PAYMENT_URL: z.url().optional(),
    /** The merchant id the bank gave the utility. */
    HPP_MERCHANT_ID: z.string().min(1).max(64).optional(),
    /** The HMAC secret shared with the bank (32 characters or more). */
    HPP_SECRET: z.string().min(32).optional(),
    /** Where the bank calls back; default PUBLIC_URL + /api/v1/payments/hpp/webhook. */
    HPP_CALLBACK_URL: z.url().optional(),
    /** The payment provider of utilities that have not chosen one (stripe, thawani, hpp). */
    PAYMENT_PROVIDER: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{1,31}$/)
      .optional(),
    /**
     * Reverse proxies whose X-Forwarded-For is believed (comma list of addresses or CIDR ranges). Unset: none,
     * and the client's address is the socket's, so a forged header cannot dodge a rate limit.
     */
    TRUSTED_PROXIES: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
    /** Bearer token Prometheus presents to scrape /metrics; unset, /metrics answers loopback clients only. */
    METRICS_TOKEN: z.string().min(16).optional(),
    /** A separate listener (on HOST) serving /metrics only; then the API port has no /metrics. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    /** Seconds a client has to send a request's headers; a slower one is answered 408 and closed. */
    HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(300).default(10),
    /** Seconds a client has to send a whole request (headers and body). */
    HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(15),
    /** Seconds an idle keep-alive connection is kept. */
    HTTP_KEEPALIVE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(300).default(5),
    /** Requests per minute per client on public routes (meter lookup, quote, checkout, sign-in). */
    PUBLIC_RATE_LIMIT: z.coerce.number().int().min(1).default(60),
    /** The roles this process runs: `all`, or a comma list of api, broker, workers (see docs/deploy.md). */
    ROLES: z
      .string()
      .default('all')
      .transform((v, ctx) => {
        const names = v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        const all = ['api', 'broker', 'workers'] as const;
        if (names.length === 1 && names[0] === 'all') return new Set<ProcessRole>(all);
        for (const name of names) {
          if (!(all as readonly string[]).includes(name)) {
            ctx.addIssue({ code: 'custom', message: `unknown role ${name}: one of all, ${all.join(', ')}` });
            return z.NEVER;
          }
        }
        return new Set(names as ProcessRole[]);
      }),
    /** Interface of the embedded MQTT broker. */
    MQTT_HOST: z.string().min(1).default('127.0.0.1'),
    /** Port of the embedded MQTT broker; 0 picks a free port. Ignored when MQTT_URL is set. */
    MQTT_PORT: z.coerce.number().int().min(0).max(65_535).default(1883),
    /** Optional TLS listener of the embedded broker (needs MQTT_TLS_CERT and MQTT_TLS_KEY). */
    MQTT_TLS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    MQTT_TLS_CERT: z.string().min(1).optional(),
    MQTT_TLS_KEY: z.string().min(1).optional(),
    /** Optional WebSocket listener of the embedded broker (path /mqtt). */
    MQTT_WS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
    /** The broker URL meters are told to use (commissioning); default mqtt://MQTT_HOST:<port>. */
    MQTT_PUBLIC_URL: z.string().min(1).optional(),
    /** An external broker (cluster) instead of the embedded one, e.g. mqtt://broker:1883. */
    MQTT_URL: z.string().min(1).optional(),
    /** Credentials of Rasid's workers on the external broker. */
    MQTT_USERNAME: z.string().min(1).optional(),
    MQTT_PASSWORD: z.string().min(1).optional(),
    /** Stable client-id prefix of this node's workers on the external broker (persistent sessions). */
    MQTT_CLIENT_ID: z.string().min(1).optional(),
    /** Prefix of the shared-subscription groups on the external broker (`<prefix>-ingest`, `<prefix>-commands`). */
    MQTT_SHARE_GROUP: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/)
      .default('rasid'),
    /** Seconds the external broker keeps a worker's session (and queues its messages) while it is away. */
    MQTT_SESSION_EXPIRY_SECONDS: z.coerce.number().int().min(0).default(86_400),
    /** Ingest connections to the external broker, sharing the load in one shared-subscription group. */
    MQTT_INGEST_CLIENTS: z.coerce.number().int().min(1).max(64).default(8),
    /** Largest MQTT packet the embedded broker reads after a CONNECT; a larger one closes the connection. */
    MQTT_MAX_PACKET_BYTES: z.coerce.number().int().min(256).max(268_435_455).default(16_384),
    /** Largest CONNECT packet the embedded broker reads. */
    MQTT_MAX_CONNECT_BYTES: z.coerce.number().int().min(64).max(65_536).default(2_048),
    /** Seconds a new MQTT connection has to send its CONNECT. */
    MQTT_CONNECT_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(120).default(5),
    /**
     * Seconds between the balance engine's reconciliation sweeps over every meter (the safety net; the
     * engine itself evaluates a meter when its inputs change, docs/balance.md).
     */
    BALANCE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(3600),
    /** Milliseconds between the balance engine's passes for due times and the ledger and settings feeds. */
    BALANCE_TICK_MS: z.coerce.number().int().min(10).default(1000),
    /** Seconds between command-dispatch passes (queued, retries, expiry). */
    DISPATCH_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(10),
    /** Seconds between notification-outbox passes. */
    OUTBOX_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(5),
    /**
     * Seconds between the workers' passes over deceased holders' held subsidies: a grace end that has passed
     * ends the subsidy with notice to the family; a stalled outreach gets a reminder (docs/customer-service.md).
     */
    DECEASED_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(3600),
    /** Seconds between checks of TimescaleDB's policy jobs; overdue ones are run by the workers (0 = never). */
    TIMESCALE_JOBS_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(600),
    /** Seconds between the workers' looks at yesterday's district losses (docs/losses.md; 0 = never). */
    LOSS_CHECK_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
    /** SMTP server for e-mail notifications, e.g. smtp://user:pass@mail:587; unset = no e-mail channel. */
    SMTP_URL: z.string().min(1).optional(),
    /** The utility's systems' webhook for balance events (low credit, disconnect, reconnect); unset = none. */
    NOTIFY_WEBHOOK_URL: z.url().optional(),
    /** The HMAC secret shared with that webhook's receiver (required with NOTIFY_WEBHOOK_URL). */
    NOTIFY_WEBHOOK_SECRET: z.string().min(16).optional(),
    /** Sender address of e-mail notifications. */
    SMTP_FROM: z.string().min(1).default('Rasid <no-reply@localhost>'),
    /** How SMS leave Rasid: `log` (development: written to the log), `smpp`, or `http` (docs/notifications.md). */
    SMS_PROVIDER: z.enum(['log', 'smpp', 'http']).default('log'),
    /** The SMSC: smpp://host:2775 (ssmpp:// for TLS). */
    SMPP_URL: z
      .string()
      .regex(/^s?smpp:\/\/[^/\s]+$/, 'smpp://host:port or ssmpp://host:port')
      .optional(),
    SMPP_SYSTEM_ID: z.string().min(1).max(15).optional(),
    SMPP_PASSWORD: z.string().min(1).max(8).optional(),
    SMPP_SYSTEM_TYPE: z.string().max(12).optional(),
    /** The sender: a short code, a number or the alphanumeric sender id the operator registered. */
    SMPP_SOURCE_ADDR: z.string().min(1).max(20).default('Rasid'),
    /** Seconds between enquire_link keepalives. */
    SMPP_ENQUIRE_LINK_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    /** The HTTP SMS provider's send URL; `{{to}}`, `{{text}}`, `{{from}}`, `{{id}}` are filled in (URL-encoded). */
    SMS_HTTP_URL: z.string().min(1).optional(),
    SMS_HTTP_METHOD: z.enum(['POST', 'GET']).default('POST'),
    /** The Authorization header value, e.g. `Bearer …` or `Basic …`. */
    SMS_HTTP_AUTHORIZATION: z.string().min(1).optional(),
    SMS_HTTP_CONTENT_TYPE: z
      .enum(['application/json', 'application/x-www-form-urlencoded'])
      .default('application/json'),
    /** The request body with `{{to}}`, `{{text}}`, `{{from}}`, `{{id}}` (escaped for the content type). */
    SMS_HTTP_BODY: z
      .string()
      .min(1)
      .default('{"to":"{{to}}","from":"{{from}}","text":"{{text}}","reference":"{{id}}"}'),
    SMS_HTTP_FROM: z.string().min(1).default('Rasid'),
    /** Where the message id is in the provider's JSON answer, as a dotted path (`messages.0.id`); unset = none. */
    SMS_HTTP_ID_PATH: z.string().min(1).optional(),
    /** A secret in the delivery-report address (/api/v1/notify/sms/receipts/<token>); unset = no reports. */
    SMS_HTTP_RECEIPT_TOKEN: z.string().min(16).optional(),
    /** Dotted paths of the message id and the status in a delivery report. */
    SMS_HTTP_RECEIPT_ID_PATH: z.string().min(1).default('id'),
    SMS_HTTP_RECEIPT_STATUS_PATH: z.string().min(1).default('status'),
    /** Status words meaning delivered, and failed (comma lists, case-insensitive). */
    SMS_HTTP_RECEIPT_DELIVERED: z.string().default('delivered,delivrd'),
    SMS_HTTP_RECEIPT_FAILED: z.string().default('failed,undelivered,undeliv,rejected,expired'),
    /** WhatsApp Business Cloud API: the sending phone number's id; unset = no WhatsApp channel. */
    WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d+$/).optional(),
    WHATSAPP_ACCESS_TOKEN: z.string().min(1).optional(),
    /** The app secret: status webhooks are verified with it (X-Hub-Signature-256). */
    WHATSAPP_APP_SECRET: z.string().min(1).optional(),
    /** The token Meta echoes in the webhook verification handshake. */
    WHATSAPP_VERIFY_TOKEN: z.string().min(8).optional(),
    WHATSAPP_API_BASE: z.url().default('https://graph.facebook.com/v23.0'),
    /** The approved templates are named `<prefix><Rasid template>`, e.g. rasid_low_credit. */
    WHATSAPP_TEMPLATE_PREFIX: z
      .string()
      .regex(/^[a-z0-9_]*$/)
      .default('rasid_'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.VENDING_MASTER_KEY) {
      ctx.addIssue({ code: 'custom', path: ['VENDING_MASTER_KEY'], message: 'is required in production' });
    }
    if (env.STRIPE_SECRET_KEY && !env.STRIPE_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_WEBHOOK_SECRET'],
        message: 'is required when STRIPE_SECRET_KEY is set (webhooks are always verified)',
      });
    }
    if (env.THAWANI_SECRET_KEY && !(env.THAWANI_PUBLISHABLE_KEY && env.THAWANI_WEBHOOK_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['THAWANI_WEBHOOK_SECRET'],
        message: 'THAWANI_PUBLISHABLE_KEY and THAWANI_WEBHOOK_SECRET are required with THAWANI_SECRET_KEY',
      });
    }
    if (env.HPP_PAYMENT_URL && !(env.HPP_MERCHANT_ID && env.HPP_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: ['HPP_SECRET'],
        message: 'HPP_MERCHANT_ID and HPP_SECRET are required with HPP_PAYMENT_URL',
      });
    }
    if (env.NOTIFY_WEBHOOK_URL && !env.NOTIFY_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['NOTIFY_WEBHOOK_SECRET'],
        message: 'is required with NOTIFY_WEBHOOK_URL (webhooks are always signed)',
      });
    }
    if (env.SMS_PROVIDER === 'smpp') {
      for (const name of ['SMPP_URL', 'SMPP_SYSTEM_ID', 'SMPP_PASSWORD'] as const) {
        if (!env[name])
          ctx.addIssue({ code: 'custom', path: [name], message: 'is required with SMS_PROVIDER=smpp' });
      }
    }
    if (env.SMS_PROVIDER === 'http' && !env.SMS_HTTP_URL) {
      ctx.addIssue({ code: 'custom', path: ['SMS_HTTP_URL'], message: 'is required with SMS_PROVIDER=http' });
    }
    if (env.WHATSAPP_PHONE_NUMBER_ID) {
      for (const name of ['WHATSAPP_ACCESS_TOKEN', 'WHATSAPP_APP_SECRET'] as const) {
        if (!env[name]) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: 'is required with WHATSAPP_PHONE_NUMBER_ID',
          });
        }
      }
    }
    if (env.MQTT_TLS_PORT !== undefined && !(env.MQTT_TLS_CERT && env.MQTT_TLS_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: ['MQTT_TLS_PORT'],
        message: 'needs MQTT_TLS_CERT and MQTT_TLS_KEY',
      });
    }
  })
  .transform((env) =>
    Object.freeze({
      host: env.HOST,
      port: env.PORT,
      publicUrl: env.PUBLIC_URL,
      logLevel: env.LOG_LEVEL,
      dataDir: env.DATA_DIR,
      nodeEnv: env.NODE_ENV,
      databaseUrl: env.DATABASE_URL,
      dbPoolSize: env.DB_POOL_SIZE,
      pgliteSharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB,
      vendingMasterKey: env.VENDING_MASTER_KEY,
      reversalWindowMs: env.REVERSAL_WINDOW_MINUTES * 60_000,
      sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
      stripe: Object.freeze({
        secretKey: env.STRIPE_SECRET_KEY,
        webhookSecret: env.STRIPE_WEBHOOK_SECRET,
        apiBase: env.STRIPE_API_BASE,
      }),
      thawani: Object.freeze({
        secretKey: env.THAWANI_SECRET_KEY,
        publishableKey: env.THAWANI_PUBLISHABLE_KEY,
        webhookSecret: env.THAWANI_WEBHOOK_SECRET,
        apiBase: env.THAWANI_API_BASE,
      }),
      hpp: Object.freeze({
        paymentUrl: env.HPP_PAYMENT_URL,
        merchantId: env.HPP_MERCHANT_ID,
        secret: env.HPP_SECRET,
        callbackUrl: env.HPP_CALLBACK_URL,
      }),
      paymentProvider: env.PAYMENT_PROVIDER,
      publicRateLimit: env.PUBLIC_RATE_LIMIT,
      trustedProxies: Object.freeze(env.TRUSTED_PROXIES) as readonly string[],
      metrics: Object.freeze({ token: env.METRICS_TOKEN, port: env.METRICS_PORT }),
      http: Object.freeze({
        headersTimeoutMs: Math.round(env.HTTP_HEADERS_TIMEOUT_SECONDS * 1000),
        requestTimeoutMs: Math.round(env.HTTP_REQUEST_TIMEOUT_SECONDS * 1000),
        keepAliveTimeoutMs: Math.round(env.HTTP_KEEPALIVE_TIMEOUT_SECONDS * 1000),
      }),
      roles: env.ROLES as ReadonlySet<ProcessRole>,
      mqtt: Object.freeze({
        host: env.MQTT_HOST,
        port: env.MQTT_PORT,
        tlsPort: env.MQTT_TLS_PORT,
        tlsCert: env.MQTT_TLS_CERT,
        tlsKey: env.MQTT_TLS_KEY,
        wsPort: env.MQTT_WS_PORT,
        publicUrl: env.MQTT_PUBLIC_URL,
        url: env.MQTT_URL,
        username: env.MQTT_USERNAME,
        password: env.MQTT_PASSWORD,
        clientId: env.MQTT_CLIENT_ID,
        ingestClients: env.MQTT_INGEST_CLIENTS,
        shareGroup: env.MQTT_SHARE_GROUP,
        sessionExpirySeconds: env.MQTT_SESSION_EXPIRY_SECONDS,
        limits: Object.freeze({
          maxPacketBytes: env.MQTT_MAX_PACKET_BYTES,
          maxConnectBytes: env.MQTT_MAX_CONNECT_BYTES,
          connectTimeoutMs: Math.round(env.MQTT_CONNECT_TIMEOUT_SECONDS * 1000),
        }),
      }),
      balanceIntervalMs: env.BALANCE_INTERVAL_SECONDS * 1000,
      balanceTickMs: env.BALANCE_TICK_MS,
      dispatchIntervalMs: env.DISPATCH_INTERVAL_SECONDS * 1000,
      outboxIntervalMs: env.OUTBOX_INTERVAL_SECONDS * 1000,
      timescaleJobsIntervalMs: env.TIMESCALE_JOBS_INTERVAL_SECONDS * 1000,
      deceasedIntervalMs: env.DECEASED_INTERVAL_SECONDS * 1000,
      lossCheckIntervalMs: env.LOSS_CHECK_INTERVAL_SECONDS * 1000,
      smtp: Object.freeze({ url: env.SMTP_URL, from: env.SMTP_FROM }),
      webhook: Object.freeze({ url: env.NOTIFY_WEBHOOK_URL, secret: env.NOTIFY_WEBHOOK_SECRET }),
      sms: Object.freeze({
        provider: env.SMS_PROVIDER,
        smpp: Object.freeze({
          url: env.SMPP_URL ?? '',
          systemId: env.SMPP_SYSTEM_ID ?? '',
          password: env.SMPP_PASSWORD ?? '',
          systemType: env.SMPP_SYSTEM_TYPE,
          sourceAddr: env.SMPP_SOURCE_ADDR,
          enquireLinkMs: env.SMPP_ENQUIRE_LINK_SECONDS * 1000,
        }),
        http: Object.freeze({
          url: env.SMS_HTTP_URL ?? '',
          method: env.SMS_HTTP_METHOD,
          authorization: env.SMS_HTTP_AUTHORIZATION,
          contentType: env.SMS_HTTP_CONTENT_TYPE,
          body: env.SMS_HTTP_BODY,
          from: env.SMS_HTTP_FROM,
          idPath: env.SMS_HTTP_ID_PATH,
          receiptToken: env.SMS_HTTP_RECEIPT_TOKEN,
          receiptIdPath: env.SMS_HTTP_RECEIPT_ID_PATH,
          receiptStatusPath: env.SMS_HTTP_RECEIPT_STATUS_PATH,
          delivered: words(env.SMS_HTTP_RECEIPT_DELIVERED),
          failed: words(env.SMS_HTTP_RECEIPT_FAILED),
        }),
      }),
      whatsapp: env.WHATSAPP_PHONE_NUMBER_ID
        ? Object.freeze({
            phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID,
            accessToken: env.WHATSAPP_ACCESS_TOKEN ?? '',
            appSecret: env.WHATSAPP_APP_SECRET ?? '',
            verifyToken: env.WHATSAPP_VERIFY_TOKEN,
            apiBase: env.WHATSAPP_API_BASE,
            templatePrefix: env.WHATSAPP_TEMPLATE_PREFIX,
          })
        : undefined,
    }),
  );

export type Config = z.output<typeof ConfigSchema>;

function words(list: string): readonly string[] {
  return list
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== '');
}

/**
 * Parses and freezes the configuration; throws a ZodError that names the variable at fault. A variable set
 * to the empty string counts as unset (`KEY=` in an env file, `${KEY}` of an unset variable in compose).
 */
export function loadConfig(source: Readonly<Record<string, string | undefined>>): Config {
  return ConfigSchema.parse(Object.fromEntries(Object.entries(source).filter(([, value]) => value !== '')));
}
