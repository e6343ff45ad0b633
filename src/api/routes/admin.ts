/**
 * The operator API, one plugin per resource: customers and premises, accounts and transfers, meters and
 * vending keys, tariffs, vendors and kiosks, and the audit log. Roles per route: operator and admin manage;
 * service agents read customers and accounts and transfer accounts; technicians read and register meters;
 * vending keys are admin only.
 */
import type { FastifyPluginAsync } from 'fastify';
import { adminAccountRoutes } from './admin-accounts.ts';
import { adminAuditRoutes } from './admin-audit.ts';
import { adminCustomerRoutes } from './admin-customers.ts';
import { adminMeterRoutes } from './admin-meters.ts';
import type { AdminRoutesOptions } from './admin-shared.ts';
import { adminTariffRoutes } from './admin-tariffs.ts';
import { adminVendorRoutes } from './admin-vendors.ts';

export type { AdminRoutesOptions } from './admin-shared.ts';

export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (fastify, opts) => {
  await adminCustomerRoutes(fastify, opts);
  await adminAccountRoutes(fastify, opts);
  await adminMeterRoutes(fastify, opts);
  await adminTariffRoutes(fastify, opts);
  await adminVendorRoutes(fastify, opts);
  await adminAuditRoutes(fastify, opts);
};
