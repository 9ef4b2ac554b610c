import { SqliteIntrospector } from 'kysely';
import type { DatabaseMetadata, DatabaseMetadataOptions, TableMetadata } from 'kysely';
import { IDEMPOTENCY_TABLE } from '../../drivers/pool/index.js';

/**
 * Kysely's SQLite introspector without the pool's own bookkeeping table (where idempotent
 * transactions record their commits), so schema listings and diffs show only the application's
 * tables, as they would on a plain SQLite file.
 */
export class DqliteIntrospector extends SqliteIntrospector {
  override async getTables(options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    const tables = await super.getTables(options);
    return tables.filter((table) => table.name !== IDEMPOTENCY_TABLE);
  }

  override async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}
