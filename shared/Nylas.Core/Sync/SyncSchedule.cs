namespace Nylas.Core.Sync;

/// <summary>How often the costly checks of a folder run, by the folder's size.</summary>
public static class SyncSchedule
{
    /// <summary>
    /// Servers without CONDSTORE tell no flag changes: finding one on an old message means fetching every
    /// UID's flags. That is cheap for small folders (every cycle) and grows with size, so large folders are
    /// compared less often: one minute per 2,000 messages, at most every 30 minutes. Expunges are still
    /// checked every cycle (a UID SEARCH, far cheaper).
    /// </summary>
    public static TimeSpan FullFlagCompareInterval(int messageCount)
        => TimeSpan.FromMinutes(Math.Clamp(messageCount / 2000.0, 0, 30));

    public static bool FullFlagCompareDue(DateTimeOffset? lastCompare, int messageCount, DateTimeOffset now)
        => lastCompare is null || now - lastCompare.Value >= FullFlagCompareInterval(messageCount);
}
