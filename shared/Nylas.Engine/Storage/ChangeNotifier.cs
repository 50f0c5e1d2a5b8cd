using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>
/// Wakes long polls and streams when their account's change log grows. Writers may run in any process, so this polls:
/// one query per shard per interval (Nylas:Delta:PollIntervalMs) for every waiting account of this process together,
/// instead of one per waiter. The loop runs only while someone waits.
/// </summary>
public sealed class ChangeNotifier(ShardDirectory shards, IOptions<NylasOptions> options) : IAsyncDisposable
{
    private sealed record Waiter(int ShardId, long AccountId, long AfterSeq, TaskCompletionSource Done);

    private readonly Lock _lock = new();
    private readonly List<Waiter> _waiters = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    /// <summary>Returns true once the account's latest sequence number is above <paramref name="afterSeq"/>, false at the timeout.</summary>
    public async Task<bool> WaitAsync(int shardId, long accountId, long afterSeq, TimeSpan timeout, CancellationToken ct)
    {
        var waiter = new Waiter(shardId, accountId, afterSeq, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_lock)
        {
            _waiters.Add(waiter);
            _loop ??= Task.Run(LoopAsync);
        }
        try
        {
            await waiter.Done.Task.WaitAsync(timeout, ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            lock (_lock) _waiters.Remove(waiter);
        }
    }

    private async Task LoopAsync()
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.Delta.PollIntervalMs);
        while (!_stopping.IsCancellationRequested)
        {
            Waiter[] waiting;
            lock (_lock)
            {
                waiting = [.. _waiters];
                if (waiting.Length == 0)
                {
                    _loop = null; // the next waiter starts a new loop
                    return;
                }
            }
            foreach (var shard in waiting.GroupBy(w => w.ShardId))
            {
                try
                {
                    var latest = await LatestAsync(shard.Key, shard.Select(w => w.AccountId).Distinct().ToList(), _stopping.Token);
                    foreach (var w in shard)
                        if (latest.TryGetValue(w.AccountId, out long seq) && seq > w.AfterSeq) w.Done.TrySetResult();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A database blip: the waiters keep waiting (at worst until their timeout) and the next round retries.
                }
            }
            try { await Task.Delay(interval, _stopping.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task<Dictionary<long, long>> LatestAsync(int shardId, List<long> accounts, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("");
        cmd.CommandText = $"SELECT account_id, last_seq FROM change_cursors WHERE account_id IN ({Sql.InList(cmd, accounts.Cast<object>().ToList(), "a")})";
        var latest = new Dictionary<long, long>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) latest[r.GetInt64(0)] = r.GetInt64(1);
        return latest;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Task? loop;
        lock (_lock) loop = _loop;
        if (loop is not null) await loop;
        _stopping.Dispose();
    }
}
