import LaurelShared
import Testing

@Suite struct TextTableTests {
    @Test func alignsColumnsUnderTheirHeaders() {
        var table = TextTable(["ID", TextTable.Column("POINTS", .right), "NAME"])
        table.append(["mbr_1", "5", "Ada"])
        table.append(["mbr_22", "1250", "Grace Hopper"])
        #expect(
            table.render() == """
                ID      POINTS  NAME
                mbr_1        5  Ada
                mbr_22    1250  Grace Hopper

                """)
    }

    @Test func aWiderHeaderSetsTheWidthAndTrailingSpacesAreTrimmed() {
        var table = TextTable(["MEMBER ID", "TIER"])
        table.append(["m1", ""])
        #expect(table.render() == "MEMBER ID  TIER\nm1\n")
    }

    @Test func missingCellsAreEmptyExtraOnesDroppedAndLineBreaksFlattened() {
        var table = TextTable(["A", "B"], showsHeader: false)
        table.append(["one"])
        table.append(["two", "x\ny\tz", "dropped"])
        #expect(table.rows == [["one", ""], ["two", "x y z"]])
        #expect(table.render() == "one\ntwo  x y z\n")
    }

    @Test func countsCharactersNotBytes() {
        var table = TextTable(["NAME", "TIER"])
        table.append(["Zoë", "GOLD"])
        #expect(table.render() == "NAME  TIER\nZoë   GOLD\n")
    }

    @Test func anEmptyTableIsItsHeaderOrNothing() {
        #expect(TextTable(["A", "B"]).render() == "A  B\n")
        #expect(TextTable(["A", "B"], showsHeader: false).render() == "")
    }
}
