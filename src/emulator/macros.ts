// The emulator's macros: list, create, get, update, delete.
import type { Macro, MacroAction, NewMacro } from '../gorgias/types.js';
import { notFound } from './errors.js';
import { FIELD_ERRORS } from './guesses.js';
import { clone } from './keys.js';
import { Checker, asBody, isObject, optionalString } from './validate.js';

export type MacroPatch = Partial<NewMacro>;

export interface Macros {
  create: (input: NewMacro) => Macro;
  get: (id: number) => Macro;
  update: (id: number, patch: MacroPatch) => Macro;
  delete: (id: number) => void;
  list: () => Macro[];
}

function checkActions(check: Checker): MacroAction[] | undefined {
  const v = check.body.actions;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    check.add('actions', FIELD_ERRORS.notList);
    return undefined;
  }
  const actions: MacroAction[] = [];
  const nested: Record<string, unknown> = {};
  v.forEach((a, i) => {
    if (!isObject(a)) nested[i] = { _schema: [FIELD_ERRORS.notObject] };
    else if (typeof a.name !== 'string' || a.name === '') nested[i] = { name: [FIELD_ERRORS.missing] };
    else if (a.arguments !== undefined && a.arguments !== null && !isObject(a.arguments)) nested[i] = { arguments: [FIELD_ERRORS.notObject] };
    else {
      actions.push({
        name: a.name,
        title: typeof a.title === 'string' ? a.title : a.name,
        type: a.type === 'system' ? 'system' : 'user',
        arguments: isObject(a.arguments) ? clone(a.arguments) : {},
      });
    }
  });
  if (Object.keys(nested).length) check.add('actions', nested);
  return actions;
}

export function createMacros(iso: () => string): Macros {
  const macros = new Map<number, Macro>();
  let nextId = 1;

  function record(id: number): Macro {
    const m = macros.get(id);
    if (!m) throw notFound();
    return m;
  }

  return {
    create(input) {
      const body = asBody(input);
      const check = new Checker(body);
      check.requireString('name', { nonEmpty: true });
      check.optionalString('intent');
      const actions = checkActions(check);
      check.done();
      const now = iso();
      const macro: Macro = {
        id: nextId++,
        name: String(body.name),
        intent: optionalString(body.intent),
        actions: actions ?? [],
        created_datetime: now,
        updated_datetime: now,
      };
      macros.set(macro.id, macro);
      return clone(macro);
    },
    get: (id) => clone(record(id)),
    update(id, patch) {
      const m = record(id);
      const body = asBody(patch);
      const check = new Checker(body);
      check.optionalString('name', { nonEmpty: true });
      check.optionalString('intent');
      const actions = checkActions(check);
      check.done();
      if (typeof body.name === 'string') m.name = body.name;
      if ('intent' in body) m.intent = optionalString(body.intent);
      if (actions) m.actions = actions;
      m.updated_datetime = iso();
      return clone(m);
    },
    delete(id) {
      record(id);
      macros.delete(id);
    },
    // A Map keeps insertion order, and ids only grow: ascending by id.
    list: () => [...macros.values()].map(clone),
  };
}
