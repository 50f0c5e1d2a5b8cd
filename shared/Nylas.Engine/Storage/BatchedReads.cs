using System.Globalization;
using System.Text;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// Several statements sent as one command and their rows read in order: one round trip for what would be many. Each
/// query's rows go to its callback; a statement without rows (a lock) runs in its place among them. Parameters the
/// statements share (<c>@account</c>) are added once through <see cref="Parameters"/>.
/// </summary>
internal sealed class BatchedReads(MySqlConnection connection, MySqlTransaction? tx)
{
    /// <summary>Keys per IN list: a command stays far below MySQL's 65,535 placeholders.</summary>
    public const int KeysPerStatement = 500;

    private readonly MySqlCommand _cmd = new() { Connection = connection, Transaction = tx };
    private readonly StringBuilder _sql = new();
    private readonly List<Action<MySqlDataReader>> _rowReaders = [];
    private int _lists;

    public MySqlParameterCollection Parameters => _cmd.Parameters;

    /// <summary>Binds <paramref name="value"/> to a parameter of its own; returns its name.</summary>
    public string AddParameter(object? value)
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"@v{_values++}");
        _cmd.Parameters.AddWithValue(name, value);
        return name;
    }

    private int _values;

    /// <summary>A statement that returns no rows (a lock, a write), run before the queries added after it.</summary>
    public void AddStatement(string sql) => _sql.Append(sql.TrimEnd().TrimEnd(';')).Append(";\n");

    public void Add(string sql, Action<MySqlDataReader> readRow)
    {
        AddStatement(sql);
        _rowReaders.Add(readRow);
    }

    /// <summary>A query over a list of keys (<c>{0}</c> in <paramref name="sqlWithList"/>), one per 500 keys; none without keys.</summary>
    public void AddForKeys<T>(IEnumerable<T> keys, string sqlWithList, Action<MySqlDataReader> readRow) where T : notnull
    {
        foreach (var chunk in keys.Chunk(KeysPerStatement))
        {
            string list = Sql.InList(_cmd, chunk.Cast<object>().ToList(), $"k{_lists++}_");
            Add(string.Format(CultureInfo.InvariantCulture, sqlWithList, list), readRow);
        }
    }

    public async Task ExecuteAsync(CancellationToken cancellationToken)
    {
        if (_sql.Length == 0) return;
        _cmd.CommandText = _sql.ToString();
        await using (_cmd)
        {
            await using var r = await _cmd.ExecuteReaderAsync(cancellationToken);
            for (int i = 0; i < _rowReaders.Count; i++)
            {
                if (i > 0 && !await r.NextResultAsync(cancellationToken))
                    throw new InvalidOperationException($"Expected {_rowReaders.Count} result sets, got {i}.");
                while (await r.ReadAsync(cancellationToken)) _rowReaders[i](r);
            }
        }
    }
}
