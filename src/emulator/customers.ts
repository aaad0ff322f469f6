// The emulator's customers: create, get, list by email or external_id, and the customer of a
// ticket or of a message's sender (found by id, email or external_id, else created).
import type { Customer, CustomerChannel, NewCustomer } from '../gorgias/types.js';
import { invalid, notFound } from './errors.js';
import { FIELD_ERRORS } from './guesses.js';
import { clone, keyIndex } from './keys.js';
import { Checker, asBody, isObject, optionalString, type Body } from './validate.js';

export interface CustomerFilter {
  email?: string;
  external_id?: string;
}

export interface Customers {
  create: (input: NewCustomer) => Customer;
  /** The stored record (not a copy): for the other resources of the store. */
  record: (id: number) => Customer;
  /** Copies, ascending by id. */
  list: (filter?: CustomerFilter) => Customer[];
  /** A ticket's `customer` or a message's `sender`: by id, else email, else external_id; created when not found. */
  resolve: (ref: unknown, field: string) => Customer;
}

function parseId(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function checkCustomer(body: Body): Checker {
  const check = new Checker(body);
  check.optionalString('name');
  check.optionalString('email');
  check.optionalString('external_id');
  check.optionalObject('data');
  if (body.channels !== undefined && body.channels !== null && !Array.isArray(body.channels)) check.add('channels', FIELD_ERRORS.notList);
  if (!check.has('email') && !check.has('external_id')) check.add('email', FIELD_ERRORS.emailOrExternalId);
  return check;
}

export function createCustomers(iso: () => string): Customers {
  const records = new Map<number, Customer>();
  /** Lower-cased address (the email and every email channel) -> the first customer that has it. */
  const byEmail = new Map<string, number>();
  const byExternalId = keyIndex<string>();
  let nextId = 1;

  function record(id: number): Customer {
    const c = records.get(id);
    if (!c) throw notFound();
    return c;
  }

  function findByEmail(email: string): Customer | undefined {
    const id = byEmail.get(email.toLowerCase());
    return id === undefined ? undefined : records.get(id);
  }

  function findByExternalId(externalId: string): Customer | undefined {
    const id = byExternalId.get(externalId)[0];
    return id === undefined ? undefined : records.get(id);
  }

  function insert(body: Body): Customer {
    const email = optionalString(body.email);
    const channels: CustomerChannel[] = Array.isArray(body.channels)
      ? body.channels
          .filter(isObject)
          .map((ch) => ({ type: typeof ch.type === 'string' ? ch.type : 'email', address: typeof ch.address === 'string' ? ch.address : '' }))
      : [];
    if (email && !channels.some((ch) => ch.type === 'email' && ch.address === email)) channels.unshift({ type: 'email', address: email });
    const customer: Customer = {
      id: nextId++,
      email,
      name: optionalString(body.name),
      external_id: optionalString(body.external_id),
      channels,
      data: isObject(body.data) ? clone(body.data) : null,
      created_datetime: iso(),
    };
    records.set(customer.id, customer);
    const addresses = [customer.email, ...channels.filter((ch) => ch.type === 'email').map((ch) => ch.address)];
    for (const a of addresses) if (a && !byEmail.has(a.toLowerCase())) byEmail.set(a.toLowerCase(), customer.id);
    if (customer.external_id !== null) byExternalId.add(customer.external_id, customer.id);
    return customer;
  }

  return {
    create(input) {
      const body = asBody(input);
      checkCustomer(body).done();
      if (typeof body.email === 'string' && findByEmail(body.email)) throw invalid({ email: [FIELD_ERRORS.emailTaken] });
      return clone(insert(body));
    },
    record,
    list(filter = {}) {
      let found: Customer[];
      if (filter.email !== undefined) found = [findByEmail(filter.email)].filter((c) => c !== undefined);
      else if (filter.external_id !== undefined) found = byExternalId.get(filter.external_id).map(record);
      else found = [...records.values()];
      return found.filter((c) => filter.external_id === undefined || c.external_id === filter.external_id).map(clone);
    },
    resolve(ref, field) {
      if (!isObject(ref)) throw invalid({ [field]: [ref === undefined || ref === null ? FIELD_ERRORS.missing : FIELD_ERRORS.notObject] });
      if (ref.id !== undefined && ref.id !== null) {
        const id = parseId(ref.id);
        const found = id === undefined ? undefined : records.get(id);
        if (!found) throw invalid({ [field]: { id: [FIELD_ERRORS.customerNotFound] } });
        return found;
      }
      const email = typeof ref.email === 'string' && ref.email !== '' ? ref.email : undefined;
      const externalId = typeof ref.external_id === 'string' && ref.external_id !== '' ? ref.external_id : undefined;
      const found = (email && findByEmail(email)) || (externalId && findByExternalId(externalId));
      if (found) return found;
      const check = checkCustomer(ref);
      if (!check.ok) throw invalid({ [field]: check.errors });
      return insert(ref);
    },
  };
}
