import { type Compilable, CompiledQuery, type Kysely } from 'kysely';

/** Stands for a parameter while a query is compiled once; replaced by the value at each run. */
export function slot(name: string): string {
  return `\u0000slot:${name}`;
}

interface Shape {
  sql: string;
  parameters: readonly unknown[];
}

/**
 * Queries built once and run many times (issue 16): for a one-row read, building the query with
 * Kysely's builder costs the service more CPU than the database spends answering it. A query is
 * built with `slot(name)` in place of each varying value, compiled once per `key` (a key names one
 * shape: the same SQL text for every call), and run with the values put back in their places.
 * The SQL text and its parameters are those the builder gives; only the building is skipped.
 */
export class CompiledQueries {
  private readonly shapes = new Map<string, Shape>();

  async run<R>(
    db: Kysely<any>,
    key: string,
    build: () => Compilable<R>,
    values: Readonly<Record<string, unknown>>,
  ): Promise<R[]> {
    let shape = this.shapes.get(key);
    if (!shape) {
      const c = build().compile();
      shape = { sql: c.sql, parameters: [...c.parameters] };
      this.shapes.set(key, shape);
    }
    const parameters = shape.parameters.map((p) => {
      if (typeof p !== 'string' || !p.startsWith('\u0000slot:')) return p;
      const name = p.slice('\u0000slot:'.length);
      if (!(name in values)) throw new Error(`compiled query ${key}: no value for ${name}`);
      return values[name];
    });
    const r = await db.executeQuery<R>(CompiledQuery.raw(shape.sql, parameters));
    return r.rows;
  }
}
