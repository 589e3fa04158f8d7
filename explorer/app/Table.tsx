/** The one table of rows the pages show (blocks, transactions, jobs …): columns defined once, optional heads, an empty text. */
import type { ComponentChildren } from 'preact'

export interface Column<T> {
  /** The column's head; when no column has one the table has no thead. */
  head?: string
  cell: (row: T, index: number) => ComponentChildren
  /** Class of the cells (e.g. `mono`, or `hide-sm` for columns a phone-width screen hides). */
  class?: string
}

export function Table<T>({ id, rows, columns, rowKey, rowClass, empty }: { id?: string; rows: readonly T[]; columns: Column<T>[]; rowKey: (row: T, index: number) => string; rowClass?: (row: T) => string | undefined; empty?: ComponentChildren }) {
  if (rows.length === 0 && empty !== undefined) return <p class="muted" id={id ? `${id}-empty` : undefined}>{empty}</p>
  return (
    <table id={id}>
      {columns.some((c) => c.head !== undefined) ? (
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} class={c.class}>
                {c.head ?? ''}
              </th>
            ))}
          </tr>
        </thead>
      ) : null}
      <tbody>
        {rows.map((r, i) => (
          <tr key={rowKey(r, i)} class={rowClass?.(r)}>
            {columns.map((c, j) => (
              <td key={j} class={c.class}>
                {c.cell(r, i)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  )
}
