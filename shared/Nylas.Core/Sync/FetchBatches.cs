namespace Nylas.Core.Sync;

/// <summary>How the messages to download are grouped into pipelined fetches.</summary>
public static class FetchBatches
{
    /// <summary>
    /// Cuts <paramref name="messages"/>, kept in the given order, into batches of at most <paramref name="maxMessages"/>
    /// and at most <paramref name="maxBytes"/> in total. A batch is never empty: a message larger than the byte
    /// bound goes in a batch of its own rather than never being fetched.
    /// </summary>
    public static List<List<T>> Plan<T>(IEnumerable<T> messages, Func<T, long> size, int maxMessages, long maxBytes)
    {
        var batches = new List<List<T>>();
        var current = new List<T>();
        long bytes = 0;
        foreach (var message in messages)
        {
            long length = size(message);
            if (current.Count > 0 && (current.Count >= maxMessages || bytes + length > maxBytes))
            {
                batches.Add(current);
                current = [];
                bytes = 0;
            }
            current.Add(message);
            bytes += length;
        }
        if (current.Count > 0) batches.Add(current);
        return batches;
    }
}
