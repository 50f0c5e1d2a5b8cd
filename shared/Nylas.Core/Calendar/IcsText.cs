using System.Globalization;

namespace Nylas.Core.Calendar;

/// <summary>
/// A line-level reading of iCalendar text, for what Ical.Net does not keep: recurrence lines as written,
/// VTIMEZONE observances of zones no time-zone database knows, and repairing a truncated calendar.
/// </summary>
internal static class IcsText
{
    internal sealed record Line(string Name, string Text)
    {
        /// <summary>The value: after the first colon outside a quoted parameter value.</summary>
        public string Value
        {
            get
            {
                bool quoted = false;
                for (int i = 0; i < Text.Length; i++)
                {
                    if (Text[i] == '"') quoted = !quoted;
                    else if (Text[i] == ':' && !quoted) return Text[(i + 1)..];
                }
                return "";
            }
        }

        public string? Parameter(string name)
        {
            int colon = Text.Length - Value.Length - 1;
            if (colon <= Name.Length) return null;
            foreach (var part in Text[(Name.Length + 1)..colon].Split(';'))
            {
                int eq = part.IndexOf('=');
                if (eq > 0 && part[..eq].Equals(name, StringComparison.OrdinalIgnoreCase)) return part[(eq + 1)..].Trim('"');
            }
            return null;
        }
    }

    internal sealed record RawEvent(string? Uid, string? RecurrenceId, IReadOnlyList<string> RecurrenceLines);

    internal sealed record Observance(bool Daylight, DateTime Start, TimeSpan OffsetTo, string? Rule);

    /// <summary>Unfolded content lines (CRLF or LF, continuation lines start with a space or tab).</summary>
    public static List<Line> Lines(string ics)
    {
        var lines = new List<Line>();
        var current = new System.Text.StringBuilder();
        foreach (var raw in ics.Split('\n'))
        {
            var line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length > 0 && (line[0] == ' ' || line[0] == '\t'))
            {
                current.Append(line, 1, line.Length - 1);
                continue;
            }
            Flush();
            current.Append(line);
        }
        Flush();
        return lines;

        void Flush()
        {
            if (current.Length == 0) return;
            var text = current.ToString().TrimStart('\uFEFF');
            current.Clear();
            int end = text.IndexOfAny([';', ':']);
            var name = (end < 0 ? text : text[..end]).Trim().ToUpperInvariant();
            if (name.Length > 0) lines.Add(new Line(name, text));
        }
    }

    public static IReadOnlyList<RawEvent> Events(IReadOnlyList<Line> lines)
    {
        var events = new List<RawEvent>();
        int depth = 0;
        string? uid = null, recurrenceId = null;
        List<string>? recurrence = null;
        foreach (var line in lines)
        {
            if (line.Name == "BEGIN")
            {
                if (recurrence is not null) depth++;
                else if (line.Value.Trim().Equals("VEVENT", StringComparison.OrdinalIgnoreCase)) { recurrence = []; uid = recurrenceId = null; depth = 0; }
                continue;
            }
            if (recurrence is null) continue;
            if (line.Name == "END")
            {
                if (depth > 0) { depth--; continue; }
                events.Add(new RawEvent(uid, recurrenceId, recurrence));
                recurrence = null;
                continue;
            }
            if (depth > 0) continue;   // inside a VALARM
            switch (line.Name)
            {
                case "UID": uid = line.Value.Trim(); break;
                case "RECURRENCE-ID": recurrenceId = line.Value.Trim(); break;
                case "RRULE" or "RDATE" or "EXDATE" or "EXRULE": recurrence.Add(line.Text.Trim()); break;
            }
        }
        if (recurrence is not null) events.Add(new RawEvent(uid, recurrenceId, recurrence));
        return events;
    }

    /// <summary>VTIMEZONE blocks by TZID: their STANDARD and DAYLIGHT observances.</summary>
    public static IReadOnlyDictionary<string, List<Observance>> TimeZones(IReadOnlyList<Line> lines)
    {
        var zones = new Dictionary<string, List<Observance>>(StringComparer.OrdinalIgnoreCase);
        List<Observance>? zone = null;
        string? tzid = null;
        bool? daylight = null;
        DateTime? start = null;
        TimeSpan? offsetTo = null;
        string? rule = null;
        foreach (var line in lines)
        {
            string value = line.Value.Trim();
            switch (line.Name)
            {
                case "BEGIN" when value.Equals("VTIMEZONE", StringComparison.OrdinalIgnoreCase):
                    zone = []; tzid = null; break;
                case "BEGIN" when zone is not null && (value.Equals("STANDARD", StringComparison.OrdinalIgnoreCase) || value.Equals("DAYLIGHT", StringComparison.OrdinalIgnoreCase)):
                    daylight = value.Equals("DAYLIGHT", StringComparison.OrdinalIgnoreCase); start = null; offsetTo = null; rule = null; break;
                case "END" when daylight is not null:
                    if (start is not null && offsetTo is not null) zone!.Add(new Observance(daylight.Value, start.Value, offsetTo.Value, rule));
                    daylight = null; break;
                case "END" when zone is not null && value.Equals("VTIMEZONE", StringComparison.OrdinalIgnoreCase):
                    if (tzid is not null) zones[tzid] = zone;
                    zone = null; break;
                case "TZID" when zone is not null && daylight is null: tzid = value; break;
                case "DTSTART" when daylight is not null: start = ParseLocal(value); break;
                case "TZOFFSETTO" when daylight is not null: offsetTo = ParseOffset(value); break;
                case "RRULE" when daylight is not null: rule = value; break;
            }
        }
        return zones;
    }

    /// <summary>
    /// The calendar as text without the named components (VTIMEZONE, VALARM): Ical.Net's parse time grows with
    /// them (a zone with a century of history costs milliseconds) and events need neither; zones are resolved apart.
    /// </summary>
    public static string Without(IReadOnlyList<Line> lines, params string[] components)
    {
        var sb = new System.Text.StringBuilder();
        int skipping = 0;
        string? skipped = null;
        foreach (var line in lines)
        {
            if (skipping == 0 && line.Name == "BEGIN" && components.Contains(line.Value.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                skipped = line.Value.Trim();
                skipping = 1;
                continue;
            }
            if (skipping > 0)
            {
                if (line.Name == "BEGIN" && line.Value.Trim().Equals(skipped, StringComparison.OrdinalIgnoreCase)) skipping++;
                else if (line.Name == "END" && line.Value.Trim().Equals(skipped, StringComparison.OrdinalIgnoreCase)) skipping--;
                continue;
            }
            sb.Append(line.Text).Append("\r\n");
        }
        return sb.ToString();
    }

    /// <summary>The calendar with END lines added for components left open (a truncated part); null when none is open.</summary>
    public static string? CloseOpenComponents(string ics, IReadOnlyList<Line> lines)
    {
        var open = new Stack<string>();
        foreach (var line in lines)
        {
            if (line.Name == "BEGIN") open.Push(line.Value.Trim().ToUpperInvariant());
            else if (line.Name == "END" && open.Count > 0) open.Pop();
        }
        if (open.Count == 0) return null;
        var sb = new System.Text.StringBuilder(ics.TrimEnd('\r', '\n')).Append("\r\n");
        while (open.Count > 0) sb.Append("END:").Append(open.Pop()).Append("\r\n");
        return sb.ToString();
    }

    /// <summary>UTC offset at a local time in a zone described only by its VTIMEZONE (yearly BYMONTH/BYDAY rules, as Outlook writes them).</summary>
    public static TimeSpan? OffsetAt(IReadOnlyList<Observance> observances, DateTime local)
    {
        Observance? best = null;
        DateTime bestOnset = DateTime.MinValue;
        foreach (var o in observances)
        {
            foreach (var onset in Onsets(o, local.Year))
            {
                if (onset <= local && onset >= bestOnset) { best = o; bestOnset = onset; }
            }
        }
        best ??= observances.FirstOrDefault(o => !o.Daylight) ?? observances.FirstOrDefault();
        return best?.OffsetTo;
    }

    private static IEnumerable<DateTime> Onsets(Observance o, int year)
    {
        if (o.Rule is null)
        {
            yield return o.Start;
            yield break;
        }
        var parts = o.Rule.Split(';').Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim().ToUpperInvariant(), p => p[1].Trim().ToUpperInvariant());
        if (!parts.TryGetValue("FREQ", out var freq) || freq != "YEARLY" || !parts.TryGetValue("BYMONTH", out var byMonth)
            || !int.TryParse(byMonth, out int month) || month is < 1 or > 12)
        {
            yield return o.Start;
            yield break;
        }
        DateTime? until = parts.TryGetValue("UNTIL", out var u) ? ParseLocal(u) : null;
        for (int y = year - 1; y <= year; y++)
        {
            if (y < o.Start.Year) continue;
            DateTime? day = null;
            if (parts.TryGetValue("BYDAY", out var byDay)) day = NthWeekday(y, month, byDay);
            else if (parts.TryGetValue("BYMONTHDAY", out var byMonthDay) && int.TryParse(byMonthDay, out int d) && d >= 1 && d <= DateTime.DaysInMonth(y, month)) day = new DateTime(y, month, d);
            if (day is null) continue;
            var onset = day.Value + o.Start.TimeOfDay;
            if (until is null || onset <= until) yield return onset;
        }
    }

    private static DateTime? NthWeekday(int year, int month, string byDay)
    {
        if (byDay.Length < 2) return null;
        var dayName = byDay[^2..];
        int n = byDay.Length == 2 ? 1 : int.TryParse(byDay[..^2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int parsed) ? parsed : 0;
        DayOfWeek? dow = dayName switch
        {
            "SU" => DayOfWeek.Sunday, "MO" => DayOfWeek.Monday, "TU" => DayOfWeek.Tuesday, "WE" => DayOfWeek.Wednesday,
            "TH" => DayOfWeek.Thursday, "FR" => DayOfWeek.Friday, "SA" => DayOfWeek.Saturday, _ => null,
        };
        if (dow is null || n == 0 || n < -5 || n > 5) return null;
        if (n > 0)
        {
            var first = new DateTime(year, month, 1);
            var date = first.AddDays(((int)dow.Value - (int)first.DayOfWeek + 7) % 7 + 7 * (n - 1));
            return date.Month == month ? date : null;
        }
        var last = new DateTime(year, month, DateTime.DaysInMonth(year, month));
        var back = last.AddDays(-(((int)last.DayOfWeek - (int)dow.Value + 7) % 7) - 7 * (-n - 1));
        return back.Month == month ? back : null;
    }

    private static DateTime? ParseLocal(string value)
    {
        value = value.TrimEnd('Z', 'z');
        return DateTime.TryParseExact(value, ["yyyyMMdd'T'HHmmss", "yyyyMMdd'T'HHmm", "yyyyMMdd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var dt) ? dt : null;
    }

    private static TimeSpan? ParseOffset(string value)
    {
        if (value.Length < 5 || (value[0] != '+' && value[0] != '-')) return null;
        if (!int.TryParse(value.AsSpan(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            || !int.TryParse(value.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int m)) return null;
        int s = value.Length >= 7 && int.TryParse(value.AsSpan(5, 2), NumberStyles.None, CultureInfo.InvariantCulture, out int sec) ? sec : 0;
        var offset = new TimeSpan(h, m, s);
        return value[0] == '-' ? -offset : offset;
    }
}
