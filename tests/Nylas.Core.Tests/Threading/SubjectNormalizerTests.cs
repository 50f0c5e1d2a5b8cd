using Nylas.Core.Threading;
using Xunit;

namespace Nylas.Core.Tests.Threading;

public class SubjectNormalizerTests
{
    [Theory]
    // English and counted forms
    [InlineData("Re: Hello", "hello")]
    [InlineData("RE: Hello", "hello")]
    [InlineData("re: hello", "hello")]
    [InlineData("Re:Hello", "hello")]
    [InlineData("Re : Hello", "hello")]
    [InlineData("Re[2]: Hello", "hello")]
    [InlineData("Re(3): Hello", "hello")]
    [InlineData("Re^4: Hello", "hello")]
    [InlineData("RE2: Hello", "hello")]
    [InlineData("Fwd: Hello", "hello")]
    [InlineData("FWD: Hello", "hello")]
    [InlineData("Fw: Hello", "hello")]
    [InlineData("FW: Hello", "hello")]
    [InlineData("Re: Fwd: AW: Hello", "hello")]
    [InlineData("Re: Re: Re: Re: Hello", "hello")]
    [InlineData("Re:Re:Fwd:Hello", "hello")]
    [InlineData("Hello (fwd)", "hello")]
    // German, Dutch, Scandinavian, Finnish
    [InlineData("AW: Angebot", "angebot")]
    [InlineData("WG: Angebot", "angebot")]
    [InlineData("Antwort: Angebot", "angebot")]
    [InlineData("Antw: Offerte", "offerte")]
    [InlineData("Doorst: Offerte", "offerte")]
    [InlineData("SV: Møte", "møte")]
    [InlineData("VS: Møte", "møte")]
    [InlineData("VB: Möte", "möte")]
    [InlineData("VL: Kokous", "kokous")]
    [InlineData("Vast: Kokous", "kokous")]
    // Romance
    [InlineData("R: Riunione", "riunione")]
    [InlineData("I: Riunione", "riunione")]
    [InlineData("Rif: Riunione", "riunione")]
    [InlineData("Enc: Reunião", "reunião")]
    [InlineData("RES: Reunião", "reunião")]
    [InlineData("RV: Reunión", "reunión")]
    [InlineData("TR: Réunion", "réunion")]
    [InlineData("TR : Réunion", "réunion")]
    // Slavic, Turkish, Hungarian, Greek
    [InlineData("Odp: Spotkanie", "spotkanie")]
    [InlineData("PD: Spotkanie", "spotkanie")]
    [InlineData("Ответ: Встреча", "встреча")]
    [InlineData("ОТВ: Встреча", "встреча")]
    [InlineData("Пересл: Встреча", "встреча")]
    [InlineData("YNT: Toplantı", "toplantı")]
    [InlineData("İLT: Toplantı", "toplantı")]
    [InlineData("Válasz: Értekezlet", "értekezlet")]
    [InlineData("ΑΠ: Συνάντηση", "συνάντηση")]
    // CJK, with ASCII and full-width colons
    [InlineData("回复：会议安排", "会议安排")]
    [InlineData("回复: 会议安排", "会议安排")]
    [InlineData("回覆：會議", "會議")]
    [InlineData("答复：会议", "会议")]
    [InlineData("转发：会议", "会议")]
    [InlineData("轉寄：會議", "會議")]
    [InlineData("返信：会議", "会議")]
    [InlineData("転送: 会議", "会議")]
    [InlineData("회신: 회의", "회의")]
    // list tags
    [InlineData("[dev] Build broken", "build broken")]
    [InlineData("[dev] Re: Build broken", "build broken")]
    [InlineData("Re: [dev] Build broken", "build broken")]
    [InlineData("Re: [dev] Re: [dev] Build broken", "build broken")]
    [InlineData("[PATCH v2 1/3] Fix the parser", "fix the parser")]
    [InlineData("[dev]", "[dev]")]
    [InlineData("Re: [dev]", "[dev]")]
    // whitespace, case, empties
    [InlineData("  Re:   Quarterly\t\tnumbers \r\n  for  Q3  ", "quarterly numbers for q3")]
    [InlineData("HELLO World", "hello world")]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData(null, "")]
    [InlineData("Re:", "")]
    [InlineData("Re: Fwd:", "")]
    [InlineData("Re: Re[2]: ", "")]
    // Unicode normalization: decomposed and composed forms are the same subject
    [InlineData("Gru\u0308\u00DFe", "grüße")]
    public void Strips_prefixes_and_normalizes(string? subject, string expected)
    {
        Assert.Equal(expected, SubjectNormalizer.Normalize(subject));
    }

    [Theory]
    [InlineData("Reunion: Friday", "reunion: friday")]
    [InlineData("Regarding: the plan", "regarding: the plan")]
    [InlineData("Write-up: notes", "write-up: notes")]
    [InlineData("Fwding tips", "fwding tips")]
    [InlineData("Re Hello", "re hello")]
    [InlineData("Fwd Hello", "fwd hello")]
    [InlineData("Refund request", "refund request")]
    [InlineData("Research: results", "research: results")]
    [InlineData("Ref: 12345", "ref: 12345")]
    [InlineData("Invoice", "invoice")]
    [InlineData("Iteration: 5", "iteration: 5")]
    [InlineData("Travel: Rome", "travel: rome")]
    [InlineData("Sven: hi", "sven: hi")]
    [InlineData("Award: winner", "award: winner")]
    [InlineData("PDF: attached", "pdf: attached")]
    [InlineData("Note: Re: Hello", "note: re: hello")]
    [InlineData("Hello Re: world", "hello re: world")]
    [InlineData("Re[x]: Hello", "re[x]: hello")]
    [InlineData("Re[2 Hello", "re[2 hello")]
    [InlineData("Status (fwd) update", "status (fwd) update")]
    public void Leaves_words_that_only_look_like_prefixes(string subject, string expected)
    {
        Assert.Equal(expected, SubjectNormalizer.Normalize(subject));
        Assert.False(SubjectNormalizer.IsReplyOrForward(subject));
    }

    [Theory]
    [InlineData("Re: Hello", true)]
    [InlineData("Fwd: Hello", true)]
    [InlineData("[list] Re: Hello", true)]
    [InlineData("Hello (fwd)", true)]
    [InlineData("回复：你好", true)]
    [InlineData("Re:", true)]
    [InlineData("Hello", false)]
    [InlineData("[list] Hello", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Tells_replies_and_forwards(string? subject, bool expected)
    {
        Assert.Equal(expected, SubjectNormalizer.IsReplyOrForward(subject));
    }

    [Fact]
    public void Normalizing_is_idempotent()
    {
        foreach (var subject in new[] { "Re: [dev] Re: Build", "AW: WG: Angebot", "回复：会议", "  a   b  ", "[x] y (fwd)" })
        {
            var once = SubjectNormalizer.Normalize(subject);
            Assert.Equal(once, SubjectNormalizer.Normalize(once));
        }
    }

    [Theory]
    [InlineData("hello", true)]
    [InlineData("lunch?", true)]
    [InlineData("q3 planning", true)]
    [InlineData("会议", true)]
    [InlineData("test", true)]
    [InlineData("", false)]
    [InlineData("hi", false)]
    [InlineData("ok", false)]
    [InlineData("hey", false)]
    [InlineData("?!?!", false)]
    [InlineData("会", false)]
    [InlineData("(no subject)", false)]
    [InlineData("no subject", false)]
    [InlineData("[no subject]", false)]
    [InlineData("kein betreff", false)]
    [InlineData("(sans objet)", false)]
    [InlineData("无主题", false)]
    public void Only_specific_subjects_link(string normalized, bool expected)
    {
        Assert.Equal(expected, new ThreadingEngine().IsSpecificSubject(normalized));
    }
}
